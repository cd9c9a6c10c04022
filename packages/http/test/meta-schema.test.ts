/**
 * The meta-schema validator compiled ahead of time (src/generated/meta-schema.ts) is the one
 * Fastify's Ajv would compile at start: the committed file is what the generator writes from the
 * installed Ajv, and it judges schemas as Ajv's own `validateSchema` does, with the same message.
 */
import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import ajvCompiler from '@fastify/ajv-compiler'
import { describe, expect, it } from 'vitest'
import { strictBodyValidators } from '../src/body-validation.js'

const generator = fileURLToPath(new URL('../scripts/meta-schema.mjs', import.meta.url))
const generated = fileURLToPath(new URL('../src/generated/meta-schema.ts', import.meta.url))

type Checker = { validateSchema(schema: unknown, throwOrLogError: boolean): boolean }
type Build = (external: Record<string, unknown>, options: { customOptions: Record<string, unknown>; onCreate: (ajv: Checker) => void }) => (route: { schema: unknown; httpPart: string }) => unknown

/** Ajv as Fastify builds it, with its own meta-schema check on. */
function fastifysAjv(): Checker {
  let ajv: Checker | undefined
  ;(ajvCompiler as unknown as { AjvCompiler: () => Build }).AjvCompiler()({}, { customOptions: {}, onCreate: (created) => (ajv = created) })
  return ajv!
}

/** What a check says: undefined when the schema passes, the error's message when it does not. */
function verdict(check: () => unknown): string | undefined {
  try {
    check()
    return undefined
  } catch (error) {
    return (error as Error).message
  }
}

const schemas: unknown[] = [
  { type: 'object', properties: { id: { type: 'string', minLength: 1, format: 'uuid' }, tags: { type: 'array', items: { type: 'string' }, uniqueItems: true } }, required: ['id'] },
  { oneOf: [{ type: 'object', properties: { kind: { const: 'max' } } }, { type: 'object', properties: { kind: { enum: ['min', 'range'] } } }] },
  { type: 'object', properties: { name: { type: ['string', 'null'], pattern: '^[a-z]+$', default: 'a' } } },
  { $schema: 'http://json-schema.org/draft-07/schema#', type: 'integer', minimum: 0 },
  true,
  { type: 'strin' },
  { type: 'object', properties: { id: { type: 'string', minLength: 'five' } } },
  { required: 'id' },
  { type: 'object', properties: { a: { enum: 'x' } }, additionalProperties: 3 },
  { items: [], minItems: -1 },
  { type: 'array', uniqueItems: 'yes', dependencies: { a: 4 } },
  { anyOf: [] },
]

describe('the meta-schema validator compiled ahead of time', () => {
  it('is what the generator writes from the installed Ajv (run it again after an upgrade)', () => {
    const fresh = spawnSync(process.execPath, [generator, '--print'], { encoding: 'utf8' })
    expect(fresh.stderr).toBe('')
    expect(readFileSync(generated, 'utf8'), 'src/generated/meta-schema.ts is stale: run `node packages/http/scripts/meta-schema.mjs`').toBe(fresh.stdout)
  })

  it("judges schemas as Ajv's validateSchema does, with the same message", () => {
    const ajv = fastifysAjv()
    const compile = strictBodyValidators()!({}, {}) as unknown as (route: { schema: unknown; httpPart: string }) => unknown
    const verdicts = schemas.map((schema) => [verdict(() => compile({ schema: structuredClone(schema), httpPart: 'querystring' })), verdict(() => ajv.validateSchema(structuredClone(schema), true))])
    for (const [ours, ajvs] of verdicts) expect(ours).toBe(ajvs)
    expect(verdicts.filter(([ours]) => ours === undefined)).toHaveLength(5)
  })

  it('names a shared schema that the meta-schema refuses by its $id', () => {
    const build = () => strictBodyValidators()!({ Device: { $id: 'Device', type: 'object', properties: { id: { minLength: 'five' } } } }, {})
    expect(build).toThrow('the shared schema "Device" is invalid: data/properties/id/minLength must be integer')
  })
})
