import ajvCompiler from '@fastify/ajv-compiler'
import { startCache } from '@plinth/core'
import type { FastifyInstance, FastifyServerOptions, preValidationHookHandler } from 'fastify'
import { CompiledSchemas, fingerprint } from './compiled-schemas.js'
import { validate as metaSchema } from './generated/meta-schema.js'
import { HttpProblem } from './problems.js'

type RouteDefinition = { readonly schema: unknown; readonly httpPart?: string }
type Validate = (data: unknown) => boolean
type ValidatorCompiler = (route: RouteDefinition) => Validate
type AjvServerOptions = { customOptions?: Record<string, unknown>; plugins?: unknown[]; onCreate?: (ajv: never) => void }
type BuildValidator = (externalSchemas: Record<string, unknown>, options?: AjvServerOptions) => ValidatorCompiler
type MetaError = { readonly instancePath: string; readonly message?: string }
const draft07 = 'http://json-schema.org/draft-07/schema'

// Fastify's own Ajv compiler (the version range fastify depends on): the same Ajv, formats and
// defaults Fastify would use, built twice with different coercion. A static import, so that a
// bundle (`plinth build`) holds it rather than loading it from node_modules.
const { AjvCompiler } = ajvCompiler as unknown as { AjvCompiler: () => BuildValidator }

/**
 * Checks a schema against the JSON Schema meta-schema as Ajv's `validateSchema` would, with the
 * same message, but through a validator compiled ahead of time (src/generated/meta-schema.ts):
 * Ajv compiles its meta-schema validator in every process, the largest part of the first
 * schema's compile (about 40 ms at start).
 */
function checkSchema(schema: unknown, mode: boolean | 'log' | undefined, shared: boolean): void {
  // A schema that names another meta-schema is left alone, as Ajv leaves one it does not have.
  const declared = (schema as { $schema?: unknown }).$schema
  if (typeof declared === 'string' && declared.replace(/#$/, '') !== draft07) return
  if (mode === false || metaSchema(schema)) return
  const errors = (metaSchema as unknown as { errors: MetaError[] }).errors
  // A route's schema: Fastify names the route around Ajv's own message. A shared one is named here.
  const id = (schema as { $id?: unknown }).$id
  const subject = shared ? `the shared schema${typeof id === 'string' ? ` "${id}"` : ''}` : 'schema'
  const message = `${subject} is invalid: ${errors.map((e) => `data${e.instancePath} ${e.message ?? ''}`.trimEnd()).join(', ')}`
  if (mode === 'log') console.error(message)
  else throw new Error(message)
}

/** A validator that compiles on its first call, with Ajv's `errors` where Fastify reads them. */
function compiledOnFirstUse(compile: () => Validate): Validate {
  let validate: Validate | undefined
  const lazy = ((data: unknown) => {
    validate ??= compile()
    const valid = validate(data)
    lazy.errors = (validate as Validate & { errors?: unknown }).errors
    return valid
  }) as Validate & { errors?: unknown }
  return lazy
}

/**
 * Fastify's validator builder with two Ajv instances: query strings, path parameters and
 * headers are coerced (there everything arrives as a string, so `?limit=10` must become 10);
 * JSON bodies are not, since JSON has types of its own: `{"kind":true}` stays a boolean and
 * fails a string schema instead of becoming "true", and `"12"` fails an integer schema
 * instead of being stored as 12.
 *
 * Every schema, shared or a route's, is still checked against the JSON Schema meta-schema,
 * once, unless the app turned Ajv's `validateSchema` off; the check runs through a validator
 * compiled ahead of time rather than Ajv's own (see {@link checkSchema}). Started from a bundle,
 * a schema that compiled in an earlier start compiles on first use (see {@link CompiledSchemas}).
 */
export function strictBodyValidators(): NonNullable<NonNullable<FastifyServerOptions['schemaController']>['compilersFactory']>['buildValidator'] {
  const coercing = AjvCompiler()
  const strict = AjvCompiler()
  const checked = new WeakSet<object>()
  const cache = startCache()
  const compiled = cache && new CompiledSchemas(cache, 'route-schemas')
  const check = (schema: unknown, mode: boolean | 'log' | undefined, shared = false) => {
    if (typeof schema !== 'object' || schema === null || checked.has(schema)) return
    checkSchema(schema, mode, shared)
    checked.add(schema)
  }
  const build: BuildValidator = (externalSchemas, options = {}) => {
    const mode = options.customOptions?.validateSchema as boolean | 'log' | undefined
    for (const schema of Object.values(externalSchemas)) check(schema, mode, true)
    const customOptions = { ...options.customOptions, validateSchema: false }
    const forStrings = coercing(externalSchemas, { ...options, customOptions })
    const forBodies = strict(externalSchemas, { ...options, customOptions: { ...customOptions, coerceTypes: false } })
    const shared = compiled && fingerprint(externalSchemas, options.customOptions, options.plugins?.map((plugin) => String(plugin)))
    return (route) => {
      check(route.schema, mode)
      const compile = () => (route.httpPart === 'body' ? forBodies(route) : forStrings(route))
      if (!compiled) return compile()
      const key = fingerprint(shared, route.httpPart, route.schema)
      if (compiled.has(key)) return compiledOnFirstUse(compile)
      const validate = compile()
      compiled.add(key)
      return validate
    }
  }
  return build as never
}

const jsonMediaType = /^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i

/** Whether a body schema describes a JSON object or array (the bodies only JSON can carry). */
function expectsStructuredBody(schema: unknown): boolean {
  if (typeof schema !== 'object' || schema === null) return false
  const { type, properties, items, oneOf, anyOf, allOf } = schema as { type?: unknown; properties?: unknown; items?: unknown; oneOf?: unknown; anyOf?: unknown; allOf?: unknown }
  const types = Array.isArray(type) ? type : [type]
  if (types.includes('object') || types.includes('array') || properties !== undefined || items !== undefined) return true
  // A union of objects (a discriminated union from zod, say) is a JSON body too.
  return [oneOf, anyOf, allOf].some((branches) => Array.isArray(branches) && branches.some(expectsStructuredBody))
}

/**
 * Routes whose body schema is an object or array accept JSON only: a body of another media
 * type (`text/plain`, which Fastify parses as a string by default, or a form) is answered with
 * 415 problem details naming what to send, rather than 400 "body must be object". Routes
 * without such a schema are left alone, so a route that takes text still can.
 */
export function requireJsonBodies(http: FastifyInstance): void {
  http.addHook('onRoute', (route) => {
    const body = route.schema?.body
    if (!expectsStructuredBody(body)) return
    const check: preValidationHookHandler = (request, _reply, done) => {
      const type = request.headers['content-type']
      if (type === undefined || request.body === undefined || jsonMediaType.test(type)) return done()
      done(new HttpProblem(415, { detail: `${request.method} ${route.url} takes a JSON body; send it with Content-Type: application/json (got ${type.split(';')[0]})` }))
    }
    const existing = route.preValidation
    route.preValidation = existing === undefined ? check : [check, ...(Array.isArray(existing) ? existing : [existing])]
  })
}
