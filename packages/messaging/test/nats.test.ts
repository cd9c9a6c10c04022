import { probeService } from '@plinth/core/testing'
import { afterAll, describe, expect, it } from 'vitest'
import { Bus, JetStreamBroker } from '../src/index.js'
import { busConformance, restartConformance } from './conformance.js'
import { ownNats, type OwnServer } from './servers.js'

const url = process.env.NATS_URL ?? 'nats://127.0.0.1:4222'
// The server, and the client packages too: an install that lacks one of @nats-io's dependencies
// is reported as the reason (a failure under PLINTH_REQUIRE_SERVICES=1), not as a broken file.
const nats = await probeService('NATS (server and @nats-io client)', async () => {
  const broker = new JetStreamBroker({ url })
  await broker.connect()
  await broker.close()
})

/** Deletes the streams a test's prefix created. */
async function removeStreams(target: string, prefix: string): Promise<void> {
  const { connect } = await import('@nats-io/transport-node')
  const { jetstreamManager } = await import('@nats-io/jetstream')
  const nc = await connect({ servers: target })
  const jsm = await jetstreamManager(nc)
  for await (const name of jsm.streams.names()) if (name.startsWith(`${prefix.toUpperCase()}_`)) await jsm.streams.delete(name)
  await nc.close()
}

describe.skipIf(!nats.available)(nats.title('NATS JetStream'), () => {
  busConformance({
    name: 'nats',
    world: () => {
      const prefix = `t${Math.random().toString(36).slice(2, 10)}`
      return Promise.resolve({
        instance: (options) => new Bus({ ...options, broker: new JetStreamBroker({ url, prefix }) }),
        cleanup: () => removeStreams(url, prefix),
      })
    },
  })

  it('fails to start naming the masked URL when nothing listens there', async () => {
    const failure = await new Bus({ broker: new JetStreamBroker({ url: 'nats://user:hunter2@127.0.0.1:1' }) }).start().catch((error: unknown) => error as Error)
    expect(failure).toMatchObject({ code: 'PLINTH_ERR_MESSAGING_UNAVAILABLE' })
    expect(failure!.message).toContain('nats://user:***@127.0.0.1:1')
    expect(failure!.message).not.toContain('hunter2')
  })
})

const client = await probeService('the @nats-io client', () => import('@nats-io/transport-node'), { howToStart: 'npm ci (the install lacks one of its dependencies)' })
describe.skipIf(!client.available)(client.title('nats: a nats-server of the test own'), () => {
  let server: OwnServer | undefined
  afterAll(() => server?.stop())
  restartConformance({
    name: 'nats',
    world: async () => {
      server ??= await ownNats()
      const own = server
      return {
        instance: (options) => new Bus({ ...options, broker: new JetStreamBroker({ url: own.url, prefix: 'restart' }) }),
        cleanup: () => Promise.resolve(),
        restart: () => own.restart(),
      }
    },
  })
})
