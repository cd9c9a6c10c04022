import { Writable } from 'node:stream'
import { component, createApp } from '@plinth/core'

const wait = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))
const lines: string[] = []
const destination = new Writable({
  write(chunk: Buffer, _encoding, done) {
    lines.push(...chunk.toString('utf8').split('\n').filter(Boolean))
    done()
  },
})

// #region order
const database = component('database', { create: () => ({}), start: () => wait(100) })
const cache = component('cache', { create: () => ({}), start: () => wait(60) })
const queue = component('queue', { create: () => ({}), start: () => wait(40) })
const repository = component('repository', { deps: { database, cache }, create: () => ({}) })
const api = component('api', { eager: true, deps: { repository, queue }, create: () => ({}) })
// #endregion

export const app = createApp({
  name: 'orders',
  components: [database, cache, queue, repository, api],
  logging: { level: 'info', destination },
})

export async function main() {
  // #region start
  const result = await app.start()
  // database, cache and queue start at once; repository when database and cache are up; api last.
  // result.criticalPath: database -> repository -> api, about 100 ms, not 100 + 60 + 40
  // #endregion
  await app.stop()
  const ready = lines.map((line) => JSON.parse(line) as { msg: string }).find((record) => record.msg.startsWith('ready in'))
  return { readyLine: ready?.msg ?? '', criticalPath: result.criticalPath.map((step) => step.component), duration: result.duration }
}
