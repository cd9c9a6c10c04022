/**
 * The event bus (@plinth/messaging) beside its peers, in one run:
 *
 * - memory: publish + handle through the in-memory bus, beside Node's EventEmitter and mitt;
 * - Redis Streams: publish-and-acknowledge through the bus, beside `redis-benchmark -t xadd`
 *   (same payload size, 50 connections) on the same redis-server;
 * - NATS JetStream: publish + ack through the bus, beside the raw @nats-io client doing the same.
 *
 * Brokers are started for the run (redis-server and nats-server -js on free ports), so no other
 * tenant of the machine's services disturbs them. Each contender runs `rounds` times, alternating,
 * and the median is reported.
 *
 *   npx tsx --conditions=@plinth/source bench/src/messaging.ts [--quick] [--only=memory,redis,nats]
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { EventEmitter } from 'node:events'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer, connect as tcp } from 'node:net'
import { tmpdir } from 'node:os'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { Bus, JetStreamBroker, RedisBroker, topic } from '@plinth/messaging'
import mittModule from 'mitt'
import { countHandled } from './messaging-count.js'
import { startWorker } from './thread.js'

const quick = process.argv.includes('--quick')
const rounds = quick ? 3 : 5
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!
const fmt = (n: number) => Math.round(n).toLocaleString('en-US')

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
}

async function waitForPort(port: number): Promise<void> {
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = tcp({ host: '127.0.0.1', port })
      socket.once('connect', () => (socket.end(), resolve(true)))
      socket.once('error', () => resolve(false))
    })
    if (ok) return
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

async function server(binary: string, args: (port: number, dir: string) => string[]): Promise<{ port: number; stop(): void }> {
  const port = await freePort()
  const dir = mkdtempSync(join(tmpdir(), 'plinth-bench-'))
  const child: ChildProcess = spawn(binary, args(port, dir), { stdio: 'ignore' })
  await waitForPort(port)
  return {
    port,
    stop: () => {
      child.kill('SIGKILL')
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

/**
 * Rate of one `run(n)`, in events per second of this process's CPU time (user + system), as the
 * other rows of bench/ measure: on a shared machine wall-clock time counts other tenants' work.
 * For the broker rows the broker's own CPU is not counted, for either contender.
 */
async function once(n: number, run: (n: number) => Promise<void> | void): Promise<number> {
  const started = process.cpuUsage()
  await run(n)
  const used = process.cpuUsage(started)
  return n / ((used.user + used.system) / 1e6)
}

/** Rate of `run(n)` in events per CPU-second, median of the rounds. */
async function rate(n: number, run: (n: number) => Promise<void> | void): Promise<number> {
  const rates: number[] = []
  for (let round = 0; round < rounds; round++) rates.push(await once(n, run))
  return median(rates)
}

/**
 * Rate of one `run(n)` in events per wall-clock second: the broker rows compare with a contender
 * in another process (redis-benchmark) or need the broker's own work counted, so they use wall
 * time, interleaved round by round with their peer so that the machine's load falls on both.
 */
async function onceWall(n: number, run: (n: number) => Promise<void>): Promise<number> {
  const started = performance.now()
  await run(n)
  return n / ((performance.now() - started) / 1000)
}

function table(title: string, rows: Array<[string, number]>, baseline: string): void {
  const base = rows.find(([name]) => name === baseline)![1]
  console.log(`\n${title}`)
  for (const [name, value] of rows) console.log(`  ${name.padEnd(44)} ${fmt(value).padStart(12)} /s   ${(value / base).toFixed(2)}x of ${baseline}`)
}

// ------------------------------------------------------------------------------------------------
// memory: publish + handle
// ------------------------------------------------------------------------------------------------

async function memoryRow(): Promise<void> {
  const n = quick ? 200_000 : 1_000_000
  const payload = { device: 'thermo-1', value: 21.5 }
  // Each bus contender in a worker thread of its own (see messaging-memory.ts), one after the other.
  const contender = (copy: boolean, scoped = false) =>
    new Promise<number>((resolve, reject) => {
      const worker = startWorker('messaging-memory', { n, rounds, copy, scoped })
      worker.once('message', (rates: number[]) => resolve(median(rates)))
      worker.once('error', reject)
    })
  const emitter = new EventEmitter()
  let emitted = 0
  emitter.on('reading', () => void emitted++)
  const emitterRun = (count: number) => {
    for (let i = 0; i < count; i++) emitter.emit('reading', payload)
  }
  // mitt ships CommonJS types: under NodeNext its default export arrives as the module object.
  const mitt = ((mittModule as unknown as { default?: typeof mittModule }).default ?? mittModule) as unknown as <E extends Record<string, unknown>>() => { on(type: keyof E, handler: (event: E[keyof E]) => void): void; emit(type: keyof E, event: E[keyof E]): void }
  const bus2 = mitt<{ reading: typeof payload }>()
  bus2.on('reading', () => void emitted++)
  const mittRun = (count: number) => {
    for (let i = 0; i < count; i++) bus2.emit('reading', payload)
  }
  // Warm up every contender before measuring.
  emitterRun(n / 10)
  mittRun(n / 10)
  const rows: Array<[string, number]> = [
    ['@plinth/messaging memory (publish + handle + ack)', await contender(true)],
    ['@plinth/messaging memory, copy: false', await contender(false)],
    ['@plinth/messaging memory, a "message" scope each', await contender(true, true)],
    ['EventEmitter (emit, synchronous)', await rate(n, emitterRun)],
    ['mitt (emit, synchronous)', await rate(n, mittRun)],
  ]
  table(`memory: ${fmt(n)} events, per CPU-second, median of ${rounds}`, rows, 'EventEmitter (emit, synchronous)')
}

// ------------------------------------------------------------------------------------------------
// Redis Streams: publish and acknowledge
// ------------------------------------------------------------------------------------------------

async function redisRow(): Promise<void> {
  const n = quick ? 20_000 : 100_000
  const clients = 50
  const redis = await server('redis-server', (port, dir) => ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no'])
  try {
    const url = `redis://127.0.0.1:${redis.port}`
    const bus = new Bus({ broker: new RedisBroker({ url, maxLen: 1_000_000 }) })
    await bus.start()
    const Reading = topic('bench.reading').of<{ device: string; value: number }>()
    const payload = { device: 'thermo-1', value: 21.5 }
    const size = JSON.stringify({ i: '00000000-0000-0000-0000-000000000000', t: Date.now(), c: '00000000-0000-0000-0000-000000000000', p: payload }).length
    const handled = await countHandled(bus, Reading)
    const busRun = async (count: number) => {
      const finished = handled(count)
      let next = 0
      // 50 producers, each awaiting its publish before the next, as redis-benchmark's 50 clients do.
      await Promise.all(Array.from({ length: clients }, async () => {
        while (next++ < count) await bus.publish(Reading, payload)
      }))
      await finished
    }
    await busRun(n / 10)
    // This redis-benchmark (7.0) has no `-t xadd`: the same command is given whole, with the
    // bus's MAXLEN and a field of the size of the bus's envelope.
    const benchmark = () => {
      const args = ['-h', '127.0.0.1', '-p', String(redis.port), '-n', String(n), '-c', String(clients), '--csv', 'XADD', 'bench:xadd', 'MAXLEN', '~', '1000000', '*', 'm', 'x'.repeat(size)]
      const output = execFileSync('redis-benchmark', args, { encoding: 'utf8' })
      const match = /"XADD[^"]*","([\d.]+)"/.exec(output)
      if (!match) throw new Error(`redis-benchmark said: ${output}`)
      return Number(match[1])
    }
    const busRates: number[] = []
    const xaddRates: number[] = []
    for (let round = 0; round < rounds; round++) {
      xaddRates.push(benchmark())
      busRates.push(await onceWall(n, busRun))
    }
    await bus.stop()
    table(`Redis Streams: ${fmt(n)} messages of ~${size} bytes, ${clients} producers, per wall-clock second, median of ${rounds}`, [
      ['@plinth/messaging redis (publish, deliver, ack)', median(busRates)],
      [`redis-benchmark XADD -c ${clients} (${size}-byte field)`, median(xaddRates)],
    ], `redis-benchmark XADD -c ${clients} (${size}-byte field)`)
  } finally {
    redis.stop()
  }
}

// ------------------------------------------------------------------------------------------------
// NATS JetStream: publish + ack
// ------------------------------------------------------------------------------------------------

async function natsRow(): Promise<void> {
  const n = quick ? 5_000 : 20_000
  const producers = 50
  const nats = await server('nats-server', (port, dir) => ['-js', '-a', '127.0.0.1', '-p', String(port), '-sd', dir])
  try {
    const url = `nats://127.0.0.1:${nats.port}`
    const bus = new Bus({ broker: new JetStreamBroker({ url, prefix: 'bench', maxLen: 10_000_000 }) })
    await bus.start()
    const Reading = topic('bench.reading').of<{ device: string; value: number }>()
    const payload = { device: 'thermo-1', value: 21.5 }
    const handled = await countHandled(bus, Reading)
    const busRun = async (count: number) => {
      const finished = handled(count)
      let next = 0
      await Promise.all(Array.from({ length: producers }, async () => {
        while (next++ < count) await bus.publish(Reading, payload)
      }))
      await finished
    }

    // The raw client: the same publish (awaiting the PubAck) and a pull consumer acking each message.
    // The NATS client is a dependency of @plinth/messaging, not of bench: loaded from there.
    // Resolved from the package, wherever npm put it (hoisted to the root or not).
    const fromMessaging = createRequire(new URL('../../packages/messaging/package.json', import.meta.url))
    const from = (name: string) => pathToFileURL(fromMessaging.resolve(name)).href
    const { connect } = (await import(from('@nats-io/transport-node')))
    const { jetstream, jetstreamManager } = (await import(from('@nats-io/jetstream')))
    const nc = await connect({ servers: url })
    const jsm = await jetstreamManager(nc)
    await jsm.streams.add({ name: 'RAW', subjects: ['raw.reading'] })
    await jsm.consumers.add('RAW', { durable_name: 'raw', ack_policy: 'explicit' as never })
    const js = jetstream(nc)
    const consumer = await js.consumers.get('RAW', 'raw')
    let rawAcked = 0
    let rawTarget = 0
    let rawDone: () => void = () => {}
    const messages = await consumer.consume({ max_messages: 256 })
    void (async () => {
      for await (const msg of messages) {
        msg.ack()
        if (++rawAcked === rawTarget) rawDone()
      }
    })()
    const body = JSON.stringify({ i: '00000000-0000-0000-0000-000000000000', t: Date.now(), c: '00000000-0000-0000-0000-000000000000', p: payload })
    const rawRun = async (count: number) => {
      rawAcked = 0
      rawTarget = count
      const finished = new Promise<void>((resolve) => (rawDone = resolve))
      let next = 0
      await Promise.all(Array.from({ length: producers }, async () => {
        while (next++ < count) await js.publish('raw.reading', body)
      }))
      await finished
    }
    await busRun(n / 10)
    await rawRun(n / 10)
    const busRates: number[] = []
    const rawRates: number[] = []
    for (let round = 0; round < rounds; round++) {
      rawRates.push(await onceWall(n, rawRun))
      busRates.push(await onceWall(n, busRun))
    }
    messages.stop()
    await nc.close()
    await bus.stop()
    table(`NATS JetStream: ${fmt(n)} messages, ${producers} producers, per wall-clock second, median of ${rounds}`, [
      ['@plinth/messaging nats (publish, deliver, ack)', median(busRates)],
      ['raw @nats-io/jetstream (publish, consume, ack)', median(rawRates)],
    ], 'raw @nats-io/jetstream (publish, consume, ack)')
  } finally {
    nats.stop()
  }
}

console.log(`@plinth/messaging benchmarks, ${new Date().toISOString()}, Node ${process.version}`)
// --only=memory,redis,nats runs some rows only.
const only = process.argv.find((arg) => arg.startsWith('--only='))?.slice('--only='.length).split(',')
if (!only || only.includes('memory')) await memoryRow()
if (!only || only.includes('redis')) await redisRow()
if (!only || only.includes('nats')) await natsRow()
process.exit(0)
