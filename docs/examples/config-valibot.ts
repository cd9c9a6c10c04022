import { defineConfig, loadConfig } from '@plinth/core'
import * as v from 'valibot'

// #region valibot
export const AppConfig = defineConfig({
  schema: v.object({
    http: v.object({ port: v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(65_535)) }),
    region: v.optional(v.picklist(['eu-west-1', 'us-east-1']), 'eu-west-1'),
  }),
  defaults: { http: { port: 8000 } }, // also tells HTTP_PORT to convert to a number
})
// #endregion

export async function main() {
  const loaded = await loadConfig(AppConfig, { env: { HTTP_PORT: '9000', REGION: 'us-east-1' } })
  return loaded.value
}
