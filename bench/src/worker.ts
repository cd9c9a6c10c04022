import { parentPort, workerData } from 'node:worker_threads'
import { countInstances } from './classes.js'
import { describeFailure } from './failure.js'
import type { GraphShape } from './graphs.js'
import { libraryLoaders } from './libraries/index.js'
import type { Op } from './libraries/library.js'

/**
 * One contender of one row, alone in its own V8 isolate (see harness.ts): it sets up the op, then
 * runs batches when the main thread asks for them.
 */
export type Workload = 'warmSingleton' | 'transient' | 'app'

export interface WorkerSetup {
  readonly library: string
  readonly workload: Workload
  readonly shape: GraphShape
}

export type Request = { type: 'count' } | { type: 'calibrate'; batchMs: number; warmupMs: number } | { type: 'batch'; n: number }
export type Reply = { type: 'ready' } | { type: 'count'; instances: number } | { type: 'calibrated'; n: number } | { type: 'batch'; ms: number; cpuMs: number } | { type: 'error'; error: string }

type Loop = (fn: () => unknown, n: number) => unknown

/**
 * The measuring loop, compiled for this op so that its call site sees only this op's function and
 * a sync op is not awaited.
 */
function compileLoop(op: Op): Loop {
  const body = `let r; for (let i = 0; i < n; i++) r = ${op.async ? 'await ' : ''}fn(); return r`
  if (op.async) {
    const AsyncFunction = Object.getPrototypeOf(async () => {}).constructor as new (...args: string[]) => Loop
    return new AsyncFunction('fn', 'n', body)
  }
  // eslint-disable-next-line @typescript-eslint/no-implied-eval -- a fixed loop body; nothing from input
  return new Function('fn', 'n', body) as Loop
}

/** The last result of a batch, kept so that no op's work is dead code to the optimiser. */
export let sink: unknown

/** Process CPU time (user + system) in milliseconds. */
const cpuNow = () => {
  const usage = process.cpuUsage()
  return (usage.user + usage.system) / 1000
}

async function timed(loop: Loop, op: Op, n: number): Promise<{ ms: number; cpuMs: number }> {
  const cpuBegan = cpuNow()
  const began = performance.now()
  const result = loop(op.fn, n)
  sink = op.async ? await result : result
  return { ms: performance.now() - began, cpuMs: cpuNow() - cpuBegan }
}

/**
 * How many ops make one batch of about `batchMs`, after warming up for `warmupMs`: long enough
 * for the optimising compiler, which runs on a background thread, to have settled (compiling the
 * hand-wired tree's 143 factories takes it over 100 ms).
 */
async function calibrate(loop: Loop, op: Op, batchMs: number, warmupMs: number): Promise<number> {
  const began = performance.now()
  let n = 1
  for (;;) {
    const { ms } = await timed(loop, op, n)
    if (ms >= batchMs / 4 || n >= 1 << 28) {
      n = Math.max(1, Math.round((n * batchMs) / Math.max(ms, 1e-3)))
      if (performance.now() - began >= warmupMs) break
    } else {
      n *= ms < batchMs / 64 ? 8 : 2
    }
  }
  // Calibrate again once warm: the first estimate was made with colder code.
  const { ms } = await timed(loop, op, n)
  return Math.max(1, Math.round((n * batchMs) / Math.max(ms, 1e-3)))
}

async function serve(setup: WorkerSetup): Promise<void> {
  const port = parentPort!
  const send = (reply: Reply) => port.postMessage(reply)
  let op: Op
  let loop: Loop
  try {
    const library = await libraryLoaders[setup.library]!()
    op = await library[setup.workload](setup.shape)
    loop = compileLoop(op)
  } catch (error) {
    send({ type: 'error', error: describeFailure(error) })
    return
  }
  port.on('message', (request: Request) => {
    const answer = async (): Promise<Reply> => {
      switch (request.type) {
        case 'count':
          return { type: 'count', instances: countInstances(op.async ? await op.fn() : op.fn()) }
        case 'calibrate':
          return { type: 'calibrated', n: await calibrate(loop, op, request.batchMs, request.warmupMs) }
        case 'batch':
          return { type: 'batch', ...(await timed(loop, op, request.n)) }
      }
    }
    answer().then(send, (error: unknown) => send({ type: 'error', error: describeFailure(error) }))
  })
  send({ type: 'ready' })
}

await serve(workerData as WorkerSetup)
