import type { Worker } from 'node:worker_threads'
import type { GraphShape } from './graphs.js'
import { startWorker } from './thread.js'
import type { Reply, Request, Workload, WorkerSetup } from './worker.js'

/**
 * How a row is measured.
 *
 * Each contender runs in its own worker thread, that is its own V8 isolate: its own JIT feedback
 * and its own heap. In one shared isolate the contenders disturb each other: the same class
 * shapes reach every library's call sites, and one library's garbage is collected on another's
 * clock (measured here: hand-wired code ran 10x slower after awilix had run in the same
 * isolate). The workers never run at the same time: the main thread asks one for a batch, waits
 * for its time, then asks the next, in a rotating order, round after round, so that drift on a
 * noisy shared machine spreads over every contender. The figure is the median batch, timed in
 * process CPU time (user + system, which on a shared machine leaves out the time the OS gave to
 * other tenants) and in wall-clock time.
 *
 * A hand loop rather than tinybench: tinybench 2 times every call with performance.now(), which
 * costs more than resolving a warm singleton, and runs each task to the end before the next.
 */
export interface MeasureOptions {
  /** Time each batch should take, in milliseconds. */
  readonly batchMs: number
  readonly rounds: number
  /** Warm-up time before calibrating, in milliseconds. */
  readonly warmupMs: number
  /** When set, a contender whose op does not build exactly this many instances is left out. */
  readonly expectInstances?: number
}

export interface Measurement {
  readonly name: string
  /** Median ops per second of process CPU time over the rounds; undefined when the contender failed. */
  readonly opsPerSecond: number | undefined
  /** Median absolute deviation of those rounds, relative to the median. */
  readonly spread: number
  /** Median ops per second of wall-clock time. */
  readonly wallOpsPerSecond: number | undefined
  readonly error?: string
}

/** One worker: a request at a time, answered in order. */
class Contender {
  readonly name: string
  readonly #worker: Worker
  #waiting: ((reply: Reply) => void) | undefined
  readonly ready: Promise<Reply>

  constructor(name: string, setup: WorkerSetup) {
    this.name = name
    this.#worker = startWorker('worker', setup)
    this.ready = new Promise((resolve) => {
      this.#waiting = resolve
    })
    this.#worker.on('message', (reply: Reply) => this.#settle(reply))
    this.#worker.on('error', (error) => this.#settle({ type: 'error', error: String(error) }))
    this.#worker.on('exit', (code) => this.#settle({ type: 'error', error: `worker exited with code ${code}` }))
  }

  #settle(reply: Reply) {
    const waiting = this.#waiting
    this.#waiting = undefined
    waiting?.(reply)
  }

  ask(request: Request): Promise<Reply> {
    return new Promise((resolve) => {
      this.#waiting = resolve
      this.#worker.postMessage(request)
    })
  }

  async close(): Promise<void> {
    this.#worker.removeAllListeners('exit')
    await this.#worker.terminate()
  }
}

const median = (values: readonly number[]) => {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

/** Measures `workload` on `shape` for every library, interleaved, and returns the median ops/s of each. */
export async function measure(libraries: readonly string[], workload: Workload, shape: GraphShape, options: MeasureOptions): Promise<Measurement[]> {
  const runs = libraries.map((name) => ({ contender: new Contender(name, { library: name, workload, shape }), n: 0, samples: [] as number[], wall: [] as number[], error: undefined as string | undefined }))
  try {
    for (const run of runs) {
      const ready = await run.contender.ready
      if (ready.type === 'error') run.error = ready.error
    }
    const live = () => runs.filter((r) => r.error === undefined)
    if (options.expectInstances !== undefined) {
      for (const run of live()) {
        const reply = await run.contender.ask({ type: 'count' })
        if (reply.type === 'error') run.error = reply.error
        else if (reply.type === 'count' && reply.instances !== options.expectInstances) run.error = `built ${reply.instances} instances, not ${options.expectInstances}`
      }
    }
    for (const run of live()) {
      const reply = await run.contender.ask({ type: 'calibrate', batchMs: options.batchMs, warmupMs: options.warmupMs })
      if (reply.type === 'calibrated') run.n = reply.n
      else run.error = reply.type === 'error' ? reply.error : `unexpected ${reply.type}`
    }
    for (let round = 0; round < options.rounds; round++) {
      const order = live()
      for (let k = 0; k < order.length; k++) {
        const run = order[(k + round) % order.length]!
        const reply = await run.contender.ask({ type: 'batch', n: run.n })
        if (reply.type === 'batch') {
          run.samples.push((run.n * 1000) / Math.max(reply.cpuMs, 1e-3))
          run.wall.push((run.n * 1000) / reply.ms)
        }
        else run.error = reply.type === 'error' ? reply.error : `unexpected ${reply.type}`
      }
    }
  } finally {
    await Promise.all(runs.map((run) => run.contender.close()))
  }
  return runs.map((run) => {
    if (run.error !== undefined || run.samples.length === 0) {
      return { name: run.contender.name, opsPerSecond: undefined, spread: 0, wallOpsPerSecond: undefined, error: run.error ?? 'no samples' }
    }
    const mid = median(run.samples)
    return { name: run.contender.name, opsPerSecond: mid, spread: median(run.samples.map((s) => Math.abs(s - mid))) / mid, wallOpsPerSecond: median(run.wall) }
  })
}
