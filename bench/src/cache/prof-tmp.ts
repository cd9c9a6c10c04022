import { Redis } from 'ioredis'
import { createCache } from '@plinth/cache'
const client = new Redis('redis://127.0.0.1:6379', { enableAutoPipelining: true })
const prefix = `plinth-bench-prof:${Math.random().toString(36).slice(2)}`
const cache = createCache({ redis: client, prefix, maxEntries: 1 })
await cache.connect()
const users = cache.namespace('users', { ttl: 3_600_000 })
const keys = Array.from({ length: 1000 }, (_, i) => `user:${i}`)
for (const k of keys) await users.set(k, { id: k, name: 'x', roles: ['a', 'b'], active: true })
async function run(n: number) {
  let next = 0
  const lane = async () => { while (next < n) { const i = next++; await users.get(keys[i % 1000]!) } }
  await Promise.all(Array.from({ length: 64 }, lane))
}
for (let r = 0; r < 8; r++) await run(100_000)
const ks = await client.keys(`${prefix}*`); await client.unlink(...ks)
await cache.close(); await client.quit()
