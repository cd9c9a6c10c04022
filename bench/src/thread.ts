import { Worker } from 'node:worker_threads'

/**
 * Starts `file` (a sibling of this module, named without extension) in a worker thread. From the
 * built JavaScript that is plain; from the TypeScript sources (tsx), Node 20 does not give the
 * worker the loader hooks of the main thread, so the worker registers tsx before importing.
 */
export function startWorker(file: string, workerData: unknown): Worker {
  if (!import.meta.url.endsWith('.ts')) return new Worker(new URL(`./${file}.js`, import.meta.url), { workerData })
  const url = new URL(`./${file}.ts`, import.meta.url).href
  const bootstrap = `import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(url)}) })`
  return new Worker(bootstrap, { eval: true, workerData })
}
