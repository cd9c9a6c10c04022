import { pathToFileURL } from 'node:url'
import { countInstances } from './classes.js'
import { chain, depth, fibonacciTree, randomDag, transientInstanceCount, type GraphShape } from './graphs.js'
import { describeFailure } from './failure.js'
import { measure, type MeasureOptions } from './harness.js'
import { libraryNames, loadLibraries } from './libraries/index.js'
import type { Op } from './libraries/library.js'
import { formatMs, heading, opsTable, table } from './report.js'

/** The seed of the 200-provider DAG of rows 1 and 3 (row 5 boots another one). */
export const APP_SEED = 1
export const APP_SIZE = 200
export const CHAIN_DEPTH = 10_000

export interface ContainerRowsOptions {
  /** Scales every batch time and round count down (0.25 for a quick look). */
  readonly scale?: number
  readonly only?: readonly number[]
}

const scaled = (options: MeasureOptions, scale: number): MeasureOptions => ({
  ...options,
  batchMs: options.batchMs * Math.min(1, scale),
  warmupMs: options.warmupMs * Math.min(1, scale),
  rounds: Math.max(3, Math.round(options.rounds * Math.min(1, scale))),
})

const describeDag = (shape: GraphShape) =>
  `${shape.deps.length} providers, ${shape.deps.reduce((n, d) => n + d.length, 0)} edges, ` +
  `${depth(shape)} deep; the root depends on the ${shape.deps[shape.root]!.length} nodes nothing else needs`

async function run(op: Op): Promise<unknown> {
  return op.async ? await op.fn() : op.fn()
}

/** Row 1: resolving a singleton that is already built, by its token. */
export async function warmSingletonRow(scale = 1): Promise<string> {
  const shape = randomDag(APP_SIZE, APP_SEED)
  const results = await measure(libraryNames, 'warmSingleton', shape, scaled({ batchMs: 40, rounds: 21, warmupMs: 500, expectInstances: APP_SIZE }, scale))
  return [
    heading('1. Warm singleton resolve'),
    `The root of the 200-provider app (${describeDag(shape)}), built once; each op resolves it again by token.`,
    'hand-wired is a variable read: it bounds what the loop itself costs.',
    '',
    opsTable(results, ['Plinth']),
  ].join('\n')
}

/** Row 2: a transient tree of 143 instances, built on every resolve. */
export async function transientTreeRow(scale = 1): Promise<string> {
  const shape = fibonacciTree()
  // Every contender must build the whole tree, or the row would compare different work.
  const results = await measure(libraryNames, 'transient', shape, scaled({ batchMs: 50, rounds: 21, warmupMs: 1000, expectInstances: transientInstanceCount(shape) }, scale))
  return [
    heading('2. Transient tree: 143 instances per resolve'),
    `A Fibonacci tree of order 9 (T(n) needs a T(n-1) and a T(n-2)): ${transientInstanceCount(shape)} instances, each of its own class, depth 10, arity 0-2.`,
    'Every node is transient; each op resolves the root and so builds all 143.',
    '',
    opsTable(results, ['Plinth', 'hand-wired']),
  ].join('\n')
}

/** Row 3: creating the container of a 200-provider app and resolving its root, which builds every singleton. */
export async function appRow(scale = 1): Promise<string> {
  const shape = randomDag(APP_SIZE, APP_SEED)
  const results = await measure(libraryNames, 'app', shape, scaled({ batchMs: 200, rounds: 11, warmupMs: 1000, expectInstances: APP_SIZE }, scale))
  return [
    heading('3. Build plus first resolve of a 200-provider app'),
    `${describeDag(shape)}; every node a singleton.`,
    'Each op creates the container (NestJS: NestFactory.createApplicationContext, logger off) from the',
    'same declarations and resolves the root, which builds all 200.',
    '',
    opsTable(results, ['Plinth']),
  ].join('\n')
}

/** Why a deep resolve failed: a stack overflow, or a depth limit some containers put in front of it. */
function describeDeep(error: unknown): string {
  for (let e: unknown = error, n = 0; e && n < 10; e = (e as { cause?: unknown }).cause, n++) {
    if (e instanceof Error && /maximum plan depth/i.test(e.message)) return 'refused: depth limit 500 (*)'
  }
  return describeFailure(error)
}

/** Row 4: a 10,000-deep transient chain, which a recursive container cannot build. */
export async function deepChainRow(): Promise<string> {
  const shape = chain(CHAIN_DEPTH)
  const rows: string[][] = []
  for (const library of await loadLibraries()) {
    const began = performance.now()
    let setup = 0
    try {
      const op = await library.transient(shape)
      setup = performance.now() - began
      const first = performance.now()
      const value = await run(op)
      const firstMs = performance.now() - first
      const warm: number[] = []
      for (let i = 0; i < 5; i++) {
        const t = performance.now()
        await run(op)
        warm.push(performance.now() - t)
      }
      warm.sort((a, b) => a - b)
      const built = countInstances(value)
      rows.push([library.name, built === CHAIN_DEPTH ? 'ok' : `built ${built}`, formatMs(setup), formatMs(firstMs), formatMs(warm[2]!)])
    } catch (error) {
      rows.push([library.name, describeDeep(error), setup ? formatMs(setup) : `${formatMs(performance.now() - began)} (failed)`, '', ''])
    }
  }
  return [
    heading(`4. A ${CHAIN_DEPTH.toLocaleString('en-US')}-deep transient chain`),
    `C(i) needs C(i-1); each op resolves C(${CHAIN_DEPTH - 1}). Times in ms: setup (classes, declarations, container),`,
    'the first resolve, and the median of the next five.',
    '',
    table(['library', 'result', 'setup ms', 'first ms', 'warm ms'], rows),
    ...(rows.some((r) => r[1]!.includes('(*)'))
      ? ['(*) inversify stops planning past 500 levels (MAX_PLAN_DEPTH) and reports "Circular dependency found".']
      : []),
  ].join('\n')
}

/** Rows 1-4, printed as they finish. */
export async function runContainerRows(options: ContainerRowsOptions = {}): Promise<void> {
  const scale = options.scale ?? 1
  const wanted = (row: number) => !options.only || options.only.includes(row)
  if (wanted(1)) console.log(await warmSingletonRow(scale))
  if (wanted(2)) console.log(await transientTreeRow(scale))
  if (wanted(3)) console.log(await appRow(scale))
  if (wanted(4)) console.log(await deepChainRow())
}

/** `node bench/dist/container.js [--quick] [--row=2,3]` */
export function parseArgs(argv: readonly string[]): ContainerRowsOptions {
  const rows = argv.find((a) => a.startsWith('--row='))
  return {
    scale: argv.includes('--quick') ? 0.25 : 1,
    ...(rows ? { only: rows.slice('--row='.length).split(',').map(Number) } : {}),
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await runContainerRows(parseArgs(process.argv.slice(2)))
}
