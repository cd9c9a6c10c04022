import ajvCompiler from '@fastify/ajv-compiler'
import type { FastifyInstance, FastifyServerOptions, preValidationHookHandler } from 'fastify'
import { HttpProblem } from './problems.js'

type RouteDefinition = { readonly schema: unknown; readonly httpPart?: string }
type Validate = (data: unknown) => boolean
type ValidatorCompiler = (route: RouteDefinition) => Validate
type AjvServerOptions = { customOptions?: Record<string, unknown>; plugins?: unknown[]; onCreate?: (ajv: SchemaChecker) => void }
type BuildValidator = (externalSchemas: Record<string, unknown>, options?: AjvServerOptions) => ValidatorCompiler
/** The part of an Ajv instance used here: its meta-schema check and the option that turns it on. */
type SchemaChecker = { readonly opts: { readonly validateSchema?: boolean | 'log' }; validateSchema(schema: unknown, throwOrLogError: boolean): boolean }

// Fastify's own Ajv compiler (the version range fastify depends on): the same Ajv, formats and
// defaults Fastify would use, built twice with different coercion. A static import, so that a
// bundle (`plinth build`) holds it rather than loading it from node_modules.
const { AjvCompiler } = ajvCompiler as unknown as { AjvCompiler: () => BuildValidator }

/**
 * Fastify's validator builder with two Ajv instances: query strings, path parameters and
 * headers are coerced (there everything arrives as a string, so `?limit=10` must become 10);
 * JSON bodies are not, since JSON has types of its own: `{"kind":true}` stays a boolean and
 * fails a string schema instead of becoming "true", and `"12"` fails an integer schema
 * instead of being stored as 12.
 *
 * Each schema is still checked against the JSON Schema meta-schema, once, by the coercing
 * instance: Ajv compiles its meta-schema validator without coercion whatever the instance's
 * options, so both instances would build the same one, and that build is the largest part of
 * compiling the first schema (tens of milliseconds at start).
 */
export function strictBodyValidators(): NonNullable<NonNullable<FastifyServerOptions['schemaController']>['compilersFactory']>['buildValidator'] {
  const coercing = AjvCompiler()
  const strict = AjvCompiler()
  // Fastify's compiler keeps one Ajv per set of shared schemas and options: the instance each
  // compiler it hands out was made with.
  const checkers = new WeakMap<ValidatorCompiler, SchemaChecker>()
  const checked = new WeakSet<object>()
  const build: BuildValidator = (externalSchemas, options = {}) => {
    let created: SchemaChecker | undefined
    const onCreate = (ajv: SchemaChecker) => {
      created = ajv
      options.onCreate?.(ajv)
    }
    const forStrings = coercing(externalSchemas, { ...options, onCreate })
    if (created) checkers.set(forStrings, created)
    const checker = checkers.get(forStrings)
    // Shared schemas are checked by the coercing instance as it adds them (it gets the same ones).
    const forBodies = strict(externalSchemas, { ...options, customOptions: { ...options.customOptions, coerceTypes: false, ...(checker ? { validateSchema: false } : {}) } })
    return (route) => {
      if (route.httpPart !== 'body') return forStrings(route)
      const schema = route.schema
      if (checker?.opts.validateSchema && typeof schema === 'object' && schema !== null && !checked.has(schema)) {
        checker.validateSchema(schema, true)
        checked.add(schema)
      }
      return forBodies(route)
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
