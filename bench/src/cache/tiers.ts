/**
 * @plinth/cache beside its peers, in one run:
 *
 *   A. memory-tier `get` hit and `getOrSet` hit: Plinth against lru-cache used directly (a
 *      synchronous call, and the same call awaited, which shows what an async API costs by
 *      itself; Plinth's synchronous `peek` beside the former, as row A0), bentocache (memory L1, as configured by default: values serialised; and with
 *      `serialize: false`, like Plinth's memory tier) and cache-manager 7 (its default Keyv
 *      memory store). Target: ahead of bentocache and cache-manager, within 1.5x of lru-cache.
 *      An awaited call costs a turn of the microtask queue, several times a hit itself, whatever
 *      the library: the awaited lru-cache rows show that floor, and `peek(key) ?? await
 *      getOrSet(...)` the synchronous fast path a hot caller takes.
 *   B. Redis `get` that misses memory and reads Redis, against ioredis GET + JSON.parse on the
 *      same client (so the same auto-pipelining), one call at a time and 64 in flight.
 *      Target: within 1.3x.
 *
 *   npx tsx --conditions=@plinth/source bench/src/cache/tiers.ts
 *   npx tsc -b bench && node bench/dist/cache/tiers.js   # --memory-only, --redis-only: one part
 *
 * Contenders take turns in one process: a batch of each, in a rotating order, round after round,
 * so that whatever else the machine does falls on all of them. Each batch is timed in process
 * CPU time; a contender's figure is the median over the rounds of its ops per CPU-second, and its
 * ratio to Plinth the median of the per-round ratios. Redis: 127.0.0.1:6379 or BENCH_REDIS_URL.
 */
import { randomUUID } from 'node:crypto'
import { BentoCache, bentostore } from 'bentocache'
import { memoryDriver } from 'bentocache/drivers/memory'
import { createCache as createCacheManager } from 'cache-manager'
import { Redis } from 'ioredis'
import { LRUCache } from 'lru-cache'
import { createCache } from '@plinth/cache'

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 31)
const BATCH_MS = Number(process.env.BENCH_BATCH_MS ?? 20)
const KEYS = 1_000
const keys = Array.from({ length: KEYS }, (_, i) => `user:${i}`)
const valueOf = (i: number) => ({ id: i, name: `user ${i}`, roles: ['reader', 'writer'], active: true })

interface Contender {
  readonly name: string
  /** Runs `n` operations. */
  run(n: number): Promise<void>
}

const cpuMs = () => {
  const usage = process.cpuUsage()
  return (usage.user + usage.system) / 1_000
}
const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)]!
}

/** Ops per CPU-second of each contender, and its ratio of time per op to the reference's. */
async function measure(title: string, contenders: Contender[], reference: string, rounds = ROUNDS): Promise<void> {
  const sizes = new Map<string, number>()
  for (const contender of contenders) {
    // Warm up for half a second (the optimising compiler works in the background and settles
    // late), then size a batch to about BATCH_MS.
    const warm = performance.now() + 500
    while (performance.now() < warm) await contender.run(100)
    let n = 1_000
    for (;;) {
      const start = performance.now()
      await contender.run(n)
      const ms = performance.now() - start
      if (ms > BATCH_MS / 2) {
        sizes.set(contender.name, Math.max(100, Math.round((n * BATCH_MS) / ms)))
        break
      }
      n *= 2
    }
  }
  const rates = new Map<string, number[]>(contenders.map((c) => [c.name, []]))
  for (let round = 0; round < rounds; round++) {
    for (let k = 0; k < contenders.length; k++) {
      const contender = contenders[(round + k) % contenders.length]!
      const n = sizes.get(contender.name)!
      const start = cpuMs()
      await contender.run(n)
      rates.get(contender.name)!.push(n / ((cpuMs() - start) / 1_000))
    }
  }
  const base = rates.get(reference)!
  console.log(`\n${title}\n${'='.repeat(title.length)}`)
  console.log(`${'contender'.padEnd(34)}${'ops/s (CPU)'.padStart(14)}${`time vs ${reference}`.padStart(24)}`)
  for (const contender of contenders) {
    const mine = rates.get(contender.name)!
    const ratio = median(mine.map((rate, i) => base[i]! / rate))
    console.log(`${contender.name.padEnd(34)}${Math.round(median(mine)).toLocaleString('en').padStart(14)}${`${ratio.toFixed(2)}x`.padStart(24)}`)
  }
}

async function memoryRows(): Promise<void> {
  const plinth = createCache({ maxEntries: 10_000 }).namespace('users', { ttl: 3_600_000 })
  const lru = new LRUCache<string, object>({ max: 10_000 })
  const bento = new BentoCache({ default: 'memory', stores: { memory: bentostore().useL1Layer(memoryDriver({ maxItems: 10_000 })) } })
  const bentoRaw = new BentoCache({ default: 'memory', stores: { memory: bentostore().useL1Layer(memoryDriver({ maxItems: 10_000, serialize: false })) } })
  const manager = createCacheManager({ ttl: 3_600_000 })
  for (let i = 0; i < KEYS; i++) {
    await plinth.set(keys[i]!, valueOf(i))
    lru.set(keys[i]!, valueOf(i))
    await bento.set({ key: keys[i]!, value: valueOf(i), ttl: '1h' })
    await bentoRaw.set({ key: keys[i]!, value: valueOf(i), ttl: '1h' })
    await manager.set(keys[i]!, valueOf(i))
  }
  let sink = 0
  const touch = (value: unknown) => {
    if (value === undefined) throw new Error('a get missed: the row measures hits')
    sink++
  }
  // Each contender's loop is a function literal of its own: closures of one literal share their
  // type feedback, which would make every call site in it polymorphic and slow them all down.
  const lruSync: Contender = {
    name: 'lru-cache (direct, sync)',
    run(n) {
      for (let i = 0; i < n; i++) touch(lru.get(keys[i % KEYS]!))
      return Promise.resolve()
    },
  }
  const peek: Contender = {
    name: 'plinth peek',
    run(n) {
      for (let i = 0; i < n; i++) touch(plinth.peek(keys[i % KEYS]!))
      return Promise.resolve()
    },
  }
  await measure('A0. Memory tier: synchronous get (peek), hit', [peek, lruSync], 'plinth peek')
  await measure(
    'A1. Memory tier: get, hit',
    [
      { name: 'plinth', async run(n) { for (let i = 0; i < n; i++) touch(await plinth.get(keys[i % KEYS]!)) } },
      lruSync,
      { name: 'lru-cache (direct, awaited)', async run(n) { for (let i = 0; i < n; i++) touch(await Promise.resolve(lru.get(keys[i % KEYS]!))) } },
      { name: 'bentocache (serialize: default)', async run(n) { for (let i = 0; i < n; i++) touch(await bento.get({ key: keys[i % KEYS]! })) } },
      { name: 'bentocache (serialize: false)', async run(n) { for (let i = 0; i < n; i++) touch(await bentoRaw.get({ key: keys[i % KEYS]! })) } },
      { name: 'cache-manager', async run(n) { for (let i = 0; i < n; i++) touch(await manager.get(keys[i % KEYS]!)) } },
    ],
    'plinth',
  )
  const factory = () => ({ never: 'called on a hit' })
  const lruFetch = new LRUCache<string, object>({ max: 10_000, fetchMethod: () => factory() })
  for (let i = 0; i < KEYS; i++) lruFetch.set(keys[i]!, valueOf(i))
  const lruOrSet: Contender = {
    name: 'lru-cache (direct, sync)',
    run(n) {
      for (let i = 0; i < n; i++) {
        const key = keys[i % KEYS]!
        let value = lru.get(key)
        if (value === undefined) lru.set(key, (value = factory()))
        touch(value)
      }
      return Promise.resolve()
    },
  }
  await measure(
    'A2. Memory tier: getOrSet, hit',
    [
      { name: 'plinth', async run(n) { for (let i = 0; i < n; i++) touch(await plinth.getOrSet(keys[i % KEYS]!, factory)) } },
      lruOrSet,
      {
        name: 'lru-cache (direct, awaited)',
        async run(n) {
          for (let i = 0; i < n; i++) {
            const key = keys[i % KEYS]!
            let value = lru.get(key)
            if (value === undefined) lru.set(key, (value = factory()))
            touch(await Promise.resolve(value))
          }
        },
      },
      // The synchronous fast path of a hot caller: a fresh memory hit without a promise, the
      // factory (and its single flight) only behind a miss.
      { name: 'plinth peek ?? getOrSet', async run(n) { for (let i = 0; i < n; i++) { const key = keys[i % KEYS]!; touch(plinth.peek(key) ?? (await plinth.getOrSet(key, factory))) } } },
      // lru-cache's own get-or-compute: fetch() with a fetchMethod, as a caller of lru-cache writes it.
      { name: 'lru-cache fetch (direct)', async run(n) { for (let i = 0; i < n; i++) touch(await lruFetch.fetch(keys[i % KEYS]!)) } },
      { name: 'bentocache (serialize: default)', async run(n) { for (let i = 0; i < n; i++) touch(await bento.getOrSet({ key: keys[i % KEYS]!, factory })) } },
      { name: 'bentocache (serialize: false)', async run(n) { for (let i = 0; i < n; i++) touch(await bentoRaw.getOrSet({ key: keys[i % KEYS]!, factory })) } },
      { name: 'cache-manager (wrap)', async run(n) { for (let i = 0; i < n; i++) touch(await manager.wrap(keys[i % KEYS]!, factory)) } },
    ],
    'plinth',
  )
  if (sink === 0) throw new Error('nothing measured')
  await bento.disconnect()
  await bentoRaw.disconnect()
}

async function redisRows(): Promise<void> {
  const url = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379'
  const prefix = `plinth-bench:${randomUUID().slice(0, 8)}`
  // One client for both, with auto-pipelining: commands issued in one tick go in one write.
  const client = new Redis(url, { enableAutoPipelining: true })
  // A memory tier of one entry, cycling over 1,000 keys: every get misses memory and reads Redis.
  const cache = createCache({ redis: client, prefix, maxEntries: 1 })
  await cache.connect()
  const users = cache.namespace('users', { ttl: 3_600_000 })
  for (let i = 0; i < KEYS; i++) await users.set(keys[i]!, valueOf(i))
  const redisKey = (key: string) => `${prefix}:raw:${key}`
  const raw = keys.map(redisKey)
  for (let i = 0; i < KEYS; i++) await client.set(raw[i]!, JSON.stringify(valueOf(i)), 'PX', 3_600_000)
  const measureRedis = async () => {
    let sink = 0
    const window = (name: string, inFlight: number, op: (i: number) => Promise<unknown>): Contender => ({
      name,
      async run(n) {
        let next = 0
        const lane = async () => {
          while (next < n) {
            const i = next++
            if ((await op(i % KEYS)) === undefined) throw new Error('a Redis read missed')
            sink++
          }
        }
        await Promise.all(Array.from({ length: inFlight }, lane))
      },
    })
    for (const inFlight of [1, 64]) {
      await measure(
        `B. Redis tier: get that misses memory, ${inFlight} in flight`,
        [
          window('plinth', inFlight, (i) => users.get(keys[i]!)),
          window('ioredis GET + JSON.parse', inFlight, async (i) => JSON.parse((await client.get(raw[i]!))!) as unknown),
        ],
        'plinth',
        Math.max(11, Math.round(ROUNDS / 2)),
      )
    }
    const hits = cache.stats().users
    if (sink === 0 || (hits?.redis?.hits ?? 0) === 0) throw new Error('nothing read from Redis')
  }
  try {
    await measureRedis()
  } finally {
    const keysLeft = await client.keys(`${prefix}*`)
    if (keysLeft.length > 0) await client.unlink(...keysLeft)
    await cache.close()
    await client.quit()
  }
}

console.log(`@plinth/cache beside its peers, ${new Date().toISOString()}, Node ${process.version}`)
console.log(`median of ${ROUNDS} interleaved rounds of ~${BATCH_MS} ms batches, per second of process CPU time; "time vs plinth" above 1.00x is slower than Plinth`)
if (!process.argv.includes('--redis-only')) await memoryRows()
if (process.argv.includes('--memory-only')) process.exit(0)
await redisRows()
