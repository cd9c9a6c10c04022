import { spawn } from 'node:child_process'
import { Agent, request } from 'node:http'
import { createRequire } from 'node:module'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { describe, expect, it } from 'vitest'

const fixture = fileURLToPath(new URL('./fixtures/drain-app.ts', import.meta.url))
const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href

type Outcome = ({ ok: true; status: number; connection: string | undefined } | { ok: false; code: string }) & { sentAt: number; at: number }

/** One GET; resolves to its outcome, never rejects, so that every failure is counted. */
function hit(url: string, agent: Agent | false): Promise<Outcome> {
  const sentAt = performance.now()
  return new Promise((resolve) => {
    const req = request(url, { agent }, (res) => {
      res.resume()
      res.on('end', () => resolve({ ok: true, status: res.statusCode ?? 0, connection: res.headers.connection, sentAt, at: performance.now() }))
      res.on('error', (error: NodeJS.ErrnoException) => resolve({ ok: false, code: error.code ?? error.message, sentAt, at: performance.now() }))
    })
    req.on('error', (error: NodeJS.ErrnoException) => resolve({ ok: false, code: error.code ?? error.message, sentAt, at: performance.now() }))
    req.end()
  })
}

function launch(env: Record<string, string> = { APP_ENV: 'production', DRAIN_DELAY: '1000' }) {
  const child = spawn(process.execPath, ['--conditions=@plinth/source', '--import', tsx, fixture], {
    env: { PATH: process.env.PATH, LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()))
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()))
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  const listening = new Promise<string>((resolve, reject) => {
    const poll = setInterval(() => {
      const match = /LISTENING (http:\/\/\S+)/.exec(output)
      if (match) {
        clearInterval(poll)
        resolve(match[1]!)
      }
    }, 10)
    void exited.then(() => {
      clearInterval(poll)
      reject(new Error(`the fixture exited before listening:\n${output}`))
    })
  })
  return { child, exited, listening, output: () => output }
}

/** What the fixture printed at exit: requests Node's server read, and responses it wrote whole. */
function counts(output: string): { read: number; written: number; unanswered: number } {
  const match = /COUNTS read=(\d+) written=(\d+)/.exec(output)
  if (!match) throw new Error(`the fixture printed no counts:\n${output}`)
  const read = Number(match[1])
  const written = Number(match[2])
  return { read, written, unanswered: read - written }
}

async function untilReady(base: string, output: () => string): Promise<void> {
  const deadline = performance.now() + 15_000
  for (;;) {
    const probe = await hit(`${base}/health/ready`, false)
    if (probe.ok && probe.status === 200) return
    if (performance.now() > deadline) throw new Error(`never ready:\n${output()}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

// Keep-alive clients that send their next request the moment the last one is answered, as a
// load balancer's pool does, across SIGTERM; the load balancer stops sending one second after it
// first reads 503 (or cannot connect). Development has no drain delay; production's is the default.
describe.each<{ env: string; settings: Record<string, string> }>([
  { env: 'development', settings: { APP_ENV: 'development' } },
  { env: 'production', settings: { APP_ENV: 'production', DRAIN_DELAY: '1500' } },
])('keep-alive load across SIGTERM in $env', ({ settings }) => {
  it('answers every request the server read, closes connections only between requests, and fails none sent before readiness fell plus one second', async () => {
    const service = launch(settings)
    const base = await service.listening
    await untilReady(base, service.output)
    const deadline = performance.now() + 20_000
    let readinessFellAt = Number.POSITIVE_INFINITY
    // When the client had read the 503: the server was draining before it answered that probe,
    // so everything sent from then on is read while draining (a request sent between the probe's
    // sending and its answer may have been read just before the drain began).
    let fallSeenAt = Number.POSITIVE_INFINITY
    const watcher = (async () => {
      while (performance.now() < deadline) {
        const probe = await hit(`${base}/health/ready`, false)
        if (!probe.ok || probe.status === 503) {
          fallSeenAt = probe.at
          return (readinessFellAt = probe.sentAt)
        }
        await new Promise((resolve) => setTimeout(resolve, 10))
      }
    })()
    const agent = new Agent({ keepAlive: true, maxSockets: 16 })
    const outcomes: Outcome[] = []
    const worker = async () => {
      while (performance.now() < readinessFellAt + 1_000 && performance.now() < deadline) outcomes.push(await hit(`${base}/hello`, agent))
    }
    const workers = Promise.all(Array.from({ length: 16 }, worker))
    await new Promise((resolve) => setTimeout(resolve, 500))
    const signalledAt = performance.now()
    service.child.kill('SIGTERM')
    await Promise.all([workers, watcher])
    const code = await service.exited
    agent.destroy()

    const served = counts(service.output())
    const inWindow = outcomes.filter((o) => o.sentAt < readinessFellAt + 1_000)
    const failed = inWindow.filter((o) => !o.ok || o.status !== 200)
    const afterFall = outcomes.filter((o) => o.ok && o.sentAt > fallSeenAt)
    const figures = { sent: outcomes.length, read: served.read, written: served.written, failed: failed.length, codes: [...new Set(failed.map((o) => (o.ok ? o.status : o.code)))] }
    console.log(`keep-alive shutdown (${settings.APP_ENV}):`, JSON.stringify(figures))
    expect(figures).toMatchObject({ failed: 0, codes: [] })
    expect(served.unanswered, service.output()).toBe(0)
    // Load-independent: there was load on both sides of the signal, however fast the machine was.
    expect(outcomes.filter((o) => o.sentAt < signalledAt).length, 'no load before the signal').toBeGreaterThan(0)
    expect(afterFall.length, 'no request answered after readiness fell').toBeGreaterThan(0)
    expect(afterFall.every((o) => o.ok && o.connection === 'close')).toBe(true)
    expect(code, service.output()).toBe(0)
  }, 40_000)
})

describe('a service process under steady load', () => {
  it('on SIGTERM fails no request and resets no connection, serving through the drain delay and finishing what is in flight', async () => {
    const service = launch()
    const base = await service.listening
    const deadline = performance.now() + 15_000
    // Every answer the client read, probes included: the server must have read and written exactly these.
    let answeredProbes = 0
    for (;;) {
      const probe = await hit(`${base}/health/ready`, false)
      if (probe.ok) answeredProbes++
      if (probe.ok && probe.status === 200) break
      if (performance.now() > deadline) throw new Error(`never ready:\n${service.output()}`)
      await new Promise((resolve) => setTimeout(resolve, 20))
    }

    // The load balancer: it polls readiness, and stops sending new requests 250 ms after it
    // first reads 503 (its de-registration lag, well within the 1 s drain delay).
    let stopSendingAt = Number.POSITIVE_INFINITY
    let readinessFellAt = Number.POSITIVE_INFINITY
    const watcher = (async () => {
      while (performance.now() < deadline) {
        const probe = await hit(`${base}/health/ready`, false)
        if (probe.ok) answeredProbes++
        if (!probe.ok || probe.status === 503) {
          readinessFellAt = probe.at
          stopSendingAt = probe.at + 250
          return
        }
        await new Promise((resolve) => setTimeout(resolve, 20))
      }
    })()

    // Steady keep-alive load: 8 clients in a loop, bounded in count and time.
    const agent = new Agent({ keepAlive: true, maxSockets: 8 })
    const outcomes: Outcome[] = []
    const worker = async () => {
      while (performance.now() < stopSendingAt && performance.now() < deadline && outcomes.length < 200_000) outcomes.push(await hit(`${base}/hello`, agent))
    }
    const workers = Promise.all(Array.from({ length: 8 }, worker))

    await new Promise((resolve) => setTimeout(resolve, 500))
    const slow = hit(`${base}/slow?ms=1500`, new Agent({ keepAlive: true }))
    await new Promise((resolve) => setTimeout(resolve, 50))
    const signalledAt = performance.now()
    service.child.kill('SIGTERM')
    await Promise.all([workers, watcher])
    const slowOutcome = await slow
    const code = await service.exited
    agent.destroy()

    const failed = outcomes.filter((o) => !o.ok || o.status !== 200)
    const served = counts(service.output())
    console.log('steady load across SIGTERM:', JSON.stringify({ sent: outcomes.length, read: served.read, written: served.written, failed: failed.length }))
    // Load-independent: whatever the machine's speed, the server wrote a response for every
    // request it read, and read exactly the requests the client got answers to (none lost on either side).
    expect(served).toMatchObject({ unanswered: 0, read: outcomes.filter((o) => o.ok).length + answeredProbes + (slowOutcome.ok ? 1 : 0) })
    const resets = outcomes.filter((o) => !o.ok && /ECONNRESET|socket hang up|EPIPE/.test(o.code))
    const servedWhileNotReady = outcomes.filter((o) => o.ok && o.at > readinessFellAt)
    expect({ failed: failed.length, resets: resets.length, firstFailure: failed[0] }).toEqual({ failed: 0, resets: 0, firstFailure: undefined })
    expect(outcomes.filter((o) => o.sentAt < signalledAt).length, 'no load before the signal').toBeGreaterThan(0)
    expect(readinessFellAt).toBeGreaterThan(signalledAt)
    expect(servedWhileNotReady.length).toBeGreaterThan(0)
    expect(servedWhileNotReady.every((o) => o.ok && o.connection === 'close')).toBe(true)
    expect(slowOutcome).toMatchObject({ ok: true, status: 200, connection: 'close' })
    expect(code, service.output()).toBe(0)
  }, 30_000)
})
