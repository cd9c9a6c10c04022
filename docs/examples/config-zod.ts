import { component, createApp, defineConfig } from '@plinth/core'
import { startTestApp } from '@plinth/core/testing'
import { z } from 'zod'

// #region define
export const AppConfig = defineConfig({
  schema: z.object({
    http: z.object({ host: z.string(), port: z.number().int().min(1).max(65_535) }),
    database: z.object({ url: z.string().min(1), poolSize: z.number().int().positive() }),
    signups: z.boolean().default(true),
  }),
  defaults: {
    http: { host: '127.0.0.1', port: 8000 },
    database: { url: 'file:./data/orders.db', poolSize: 5 },
  },
})

const server = component('http-server', {
  eager: true,
  deps: { config: AppConfig }, // the validated value, typed from the schema
  create: ({ config }) => ({ address: `http://${config.http.host}:${config.http.port}` }),
})

export const app = createApp({ name: 'orders', config: AppConfig, components: [server] })
// #endregion

export async function main() {
  // #region start
  await using t = await startTestApp(app, { env: { HTTP_PORT: '8080' }, argv: ['--http.host=0.0.0.0'] })
  const address = t.get(server).address // 'http://0.0.0.0:8080'
  // #endregion
  return { address, value: t.app.config?.value }
}
