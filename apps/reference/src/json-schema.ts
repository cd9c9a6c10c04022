// @fastify/swagger adds `tags`, `summary` and `hide` to Fastify's route schema type; @plinth/http
// serves /docs with it but its published types do not carry that augmentation, so it is loaded here.
import type {} from '@fastify/swagger'
import { z } from 'zod'

/**
 * The JSON Schema of a zod schema's input, for a REST route's `schema`: Fastify validates
 * requests with it (every invalid field becomes one entry of the 400 problem) and /docs shows
 * it. One schema per shape, whichever protocol the input arrives by.
 *
 * @example
 * http.post('/devices', { schema: { body: jsonSchema(DeviceInput) } }, (request) => telemetry.registerDevice(request.body))
 */
export function jsonSchema(schema: z.ZodType): Record<string, unknown> {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { target: 'draft-7', io: 'input', unrepresentable: 'any' })
  return rest
}
