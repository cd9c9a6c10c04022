import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { pathToFileURL } from 'node:url'
import { isMainThread, parentPort, workerData } from 'node:worker_threads'
import { component, createApp, type Provider } from '@plinth/core'
import { criticalPath, depth, randomDag, seededRandom, type GraphShape } from './graphs.js'
import { formatMs, formatPercent, heading, table } from './report.js'
import { startWorker } from './thread.js'

/** Row 5's graph: another 200-node DAG of the same generator, and a start latency per node. */
export const BOOT_SEED = 5
export const BOOT_SIZE = 200
const LATENCY_SEED = 42

/** Whole milliseconds from 5 to 20: setTimeout has millisecond resolution. */
export function startLatencies(size: number, seed = LATENCY_SEED): number[] {
  const random = seededRandom(seed)
  return Array.from({ length: size }, () => 5 + Math.floor(random() * 16))
}

/** Components whose start waits for the node's latency; the root is eager, so start boots them all. */
function bootComponents(shape: GraphShape, latencies: readonly number[]): Provider<object>[] {
  const components: Provider<object>[] = []
  shape.deps.forEach((deps, i) => {
    const depMap = Object.fromEntries(deps.map((d, k) => [`d${k}`, components[d]!]))
    components.push(
      component(`boot${i}`, {
        deps: depMap,
        create: (resolved) => ({ resolved }),
        start: () => sleep(latencies[i]),
        eager: i === shape.root,
      }),
    )
  })
  return components
}

/**
 * Plinth: createApp with the 200 components, then start(); the time until start() resolves. The
 * bootstrap phase prepares its standard directories under a temporary data directory, not ./data.
 */
async function bootPlinth(components: Provider<object>[], dataDir: string): Promise<{ duration: number; beforeFirstStart: number }> {
  const began = performance.now()
  const app = createApp({ name: 'boot-bench', components, logging: { level: 'silent' }, bootstrap: { dataDir } })
  await app.start()
  const duration = performance.now() - began
  const statuses = app.components()
  const started = statuses.filter((c) => c.state === 'started').length
  const beforeFirstStart = Math.min(...statuses.map((c) => c.startedAt)) - began
  await app.stop()
  if (started !== components.length) throw new Error(`Plinth started ${started} components, not ${components.length}`)
  return { duration, beforeFirstStart }
}

/**
 * The ideal concurrent boot, by hand: each node's start begins the moment its last dependency
 * has started. It pays the same timers as Plinth, so it shows what the critical path costs on
 * this machine's event loop.
 */
async function bootIdeal(shape: GraphShape, latencies: readonly number[]): Promise<number> {
  const began = performance.now()
  const done: Promise<void>[] = []
  shape.deps.forEach((deps, i) => {
    done.push(Promise.all(deps.map((d) => done[d]!)).then(() => sleep(latencies[i])))
  })
  await done[shape.root]
  return performance.now() - began
}

const median = (values: readonly number[]) => [...values].sort((a, b) => a - b)[values.length >> 1]!

export async function bootRow(runs = 7): Promise<string> {
  const shape = randomDag(BOOT_SIZE, BOOT_SEED)
  const latencies = startLatencies(BOOT_SIZE)
  const components = bootComponents(shape, latencies)
  const critical = criticalPath(shape, latencies)
  const sum = latencies.reduce((a, b) => a + b, 0)
  const plinth: number[] = []
  const beforeFirstStart: number[] = []
  const ideal: number[] = []
  const dataDir = mkdtempSync(join(tmpdir(), 'plinth-bench-'))
  try {
    await bootPlinth(components, dataDir) // warm-up: the first boot also loads and compiles the kernel
    for (let i = 0; i < runs; i++) {
      ideal.push(await bootIdeal(shape, latencies))
      const boot = await bootPlinth(components, dataDir)
      plinth.push(boot.duration)
      beforeFirstStart.push(boot.beforeFirstStart)
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true })
  }
  const row = (name: string, ms: number, best: number | undefined, note: string) => [
    name,
    formatMs(ms),
    formatPercent(ms / critical - 1),
    best === undefined ? '' : formatMs(best),
    best === undefined ? '' : formatPercent(best / critical - 1),
    note,
  ]
  const measured = (name: string, values: readonly number[], note: string) =>
    row(name, median(values), Math.min(...values), `median and best of ${values.length}, worst ${formatMs(Math.max(...values))}${note}`)
  return [
    heading('5. Boot: 200 components with 5-20 ms async start hooks'),
    `A random DAG of ${BOOT_SIZE} components (seed ${BOOT_SEED}, ${depth(shape)} deep), each start hook waiting a seeded 5-20 ms;`,
    'the root is eager, so start() builds and starts all of them. Times in ms; "over critical path" is against',
    'the critical path computed from the latencies. Target for Plinth: within 10%. Wall-clock time: on a',
    'loaded machine the worst runs include time the OS gave to other processes.',
    '',
    table(
      ['boot', 'median ms', 'over', 'best ms', 'over', ''],
      [
        row('critical path (computed)', critical, undefined, 'longest chain of start latencies'),
        measured('ideal concurrent (by hand)', ideal, '; same timers, no kernel'),
        measured('Plinth createApp + start', plinth, ''),
        ['  of which before the first start hook', formatMs(median(beforeFirstStart)), '', formatMs(Math.min(...beforeFirstStart)), '', 'logger, modules, bootstrap, validate, boot set'],
        row('sequential (computed)', sum, undefined, 'sum of all start latencies'),
      ],
    ),
  ].join('\n')
}

/**
 * Runs the row in a worker thread of its own, so that its timers and heap are not shared with
 * what ran before it (row 4 leaves ten-thousand-class graphs of every library in the main heap).
 */
export function bootRowInWorker(): Promise<string> {
  const worker = startWorker('boot', { bootRow: true })
  return new Promise((resolve, reject) => {
    worker.once('message', (text: string) => resolve(text))
    worker.once('error', reject)
    worker.once('exit', (code) => reject(new Error(`the boot worker exited with code ${code}`)))
  })
}

if (!isMainThread && (workerData as { bootRow?: boolean } | undefined)?.bootRow) {
  parentPort!.postMessage(await bootRow())
} else if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.log(await bootRow())
}
