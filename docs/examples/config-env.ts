import { defineConfig, loadConfig } from '@plinth/core'
import { z } from 'zod'

// #region env
export const AppConfig = defineConfig({
  schema: z.object({
    http: z.object({ port: z.number() }),
    database: z.object({ url: z.string(), maxConnections: z.number() }),
    cors: z.object({ origins: z.array(z.string()) }),
    debug: z.boolean(),
  }),
  defaults: { http: { port: 8000 }, database: { maxConnections: 5 }, cors: { origins: [] }, debug: false },
  env: {
    PORT: 'http.port', // as platforms like Heroku and Cloud Run set it
    DATABASE_URL: 'database.url', // also the automatic name; listing it documents it
  },
})
// #endregion

export async function main() {
  // #region load
  const loaded = await loadConfig(AppConfig, {
    env: {
      PORT: '8080', // explicit mapping, converted to a number
      DATABASE_URL: 'postgres://db/orders',
      DATABASE_MAX_CONNECTIONS: '20', // automatic: database.maxConnections
      CORS_ORIGINS: 'https://a.example,https://b.example', // arrays: a comma list or JSON
      DEBUG: 'yes', // booleans: true/false, 1/0, yes/no, on/off
    },
  })
  // #endregion
  return { value: loaded.value, sources: Object.fromEntries(loaded.sources) }
}
