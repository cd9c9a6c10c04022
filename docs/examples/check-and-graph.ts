import { component, createApp, defineConfig, runCommand } from '@plinth/core'
import { z } from 'zod'

// #region app
const AppConfig = defineConfig({
  schema: z.object({ databaseUrl: z.string().default('file:./data/orders.db') }),
})
const database = component('database', {
  deps: { config: AppConfig },
  create: ({ config }) => ({ url: config.databaseUrl }),
  start: () => {},
})
const currentUser = component('current-user', { lifetime: 'scoped', create: () => ({ name: 'anonymous' }) })
const orders = component('orders', { deps: { database }, create: () => ({}) })
const server = component('http-server', { eager: true, deps: { orders }, create: () => ({}) })

export const app = createApp({ name: 'orders', config: AppConfig, components: [database, currentUser, orders, server] })
// #endregion

export async function main() {
  const out: string[] = []
  const err: string[] = []
  const io = { out: (text: string) => void out.push(text), err: (text: string) => void err.push(text) }
  // #region run
  const checked = await runCommand(app, ['check'], io) // what `plinth check` runs
  const graphed = await runCommand(app, ['graph'], io) // `plinth graph`; add '--format', 'dot' for Graphviz
  // #endregion
  return { checked, graphed, check: out[0] ?? '', graph: out[1] ?? '', err }
}
