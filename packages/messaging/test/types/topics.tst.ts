import { describe, expect, test } from 'tstyche'
import { z } from 'zod'
import { Bus, MemoryBroker, topic, type Message, type MessageOf } from '@plinth/messaging'

const bus = new Bus({ broker: new MemoryBroker() })

describe('typed topics', () => {
  test('a topic declared with a type carries it to publish and to the handler', () => {
    const Reading = topic('telemetry.reading').of<{ device: string; value: number }>()
    expect<MessageOf<typeof Reading>>().type.toBe<{ device: string; value: number }>()
    expect(bus.publish(Reading, { device: 'd', value: 1 })).type.toBe<Promise<{ readonly id: string; readonly topic: string }>>()
    expect(bus.publish).type.not.toBeCallableWith(Reading, { device: 'd', value: 'high' })
    void bus.subscribe(Reading, (message) => {
      expect(message).type.toBe<Message<{ device: string; value: number }>>()
    }, { group: 'g' })
  })

  test('a topic declared with a Standard Schema takes its type from the schema', () => {
    const Checked = topic('telemetry.checked').of(z.object({ device: z.string(), value: z.number() }))
    expect<MessageOf<typeof Checked>>().type.toBe<{ device: string; value: number }>()
    expect(bus.publish).type.not.toBeCallableWith(Checked, { device: 'd' })
  })

  test('a subscription needs its group', () => {
    const Reading = topic('telemetry.reading').of<number>()
    expect(bus.subscribe).type.not.toBeCallableWith(Reading, () => {}, {})
    expect(bus.subscribe).type.toBeCallableWith(Reading, () => {}, { group: 'g', concurrency: 2 })
  })
})
