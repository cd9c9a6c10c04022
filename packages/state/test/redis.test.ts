import { randomUUID } from 'node:crypto'
import { afterAll, describe } from 'vitest'
import { Redis } from 'ioredis'
import { probeService } from '@plinth/core/testing'
import { RedisStateStore } from '@plinth/state'
import { stateStoreConformance } from './conformance.js'

const url = 'redis://127.0.0.1:6379'
const service = await probeService('Redis', { host: '127.0.0.1', port: 6379 })
const prefix = `plinth-test:state:${randomUUID().slice(0, 8)}`

describe.skipIf(!service.available)(service.title('on Redis'), () => {
  afterAll(async () => {
    const admin = new Redis(url)
    let cursor = '0'
    do {
      const [next, keys] = await admin.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000)
      if (keys.length > 0) await admin.unlink(...keys)
      cursor = next
    } while (cursor !== '0')
    await admin.quit()
  })
  const open = async () => {
    const store = new RedisStateStore({ url, prefix, sweepInterval: 20 })
    await store.connect()
    return store
  }
  stateStoreConformance('Redis', { open, peer: open })
})
