import { mkdtemp, readFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { component, createApp, recordTrace } from '@plinth/core'

const wait = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))
const database = component('database', { create: () => ({}), start: () => wait(20), stop: () => wait(5) })
const cache = component('cache', { create: () => ({}), start: () => wait(10) })
const api = component('api', { eager: true, deps: { database, cache }, create: () => ({}) })
export const app = createApp({ name: 'orders', components: [database, cache, api] })

export async function main() {
  const file = join(await mkdtemp(join(tmpdir(), 'plinth-trace-')), 'boot.json')
  // #region trace
  const trace = recordTrace(app.events) // subscribe before start
  await app.start()
  await app.stop()
  trace.write(file) // open it at https://ui.perfetto.dev
  // #endregion
  const written = JSON.parse(await readFile(file, 'utf8')) as { traceEvents: Array<{ name: string; ph: string; tid: number }> }
  return written.traceEvents.filter((event) => event.ph === 'X')
}
