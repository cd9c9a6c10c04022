/**
 * What a bundle's earlier start compiled, so that this start can leave the same compiling for
 * later: Ajv's request validators and fast-json-stringify's response serializers.
 */
import { createHash } from 'node:crypto'
import type { StartCache } from '@plinth/core'

/**
 * The schemas that compiled in an earlier start of the same bundle, by fingerprint (the schema
 * and everything its compiled code depends on: for a request validator, the part of the request
 * it validates, the Ajv options and the shared schemas; for a response serializer, the shared
 * schemas and the serializer options). A compiler makes the same code from the same input every
 * time, so a schema that compiled once cannot fail the next time, and can wait for the first
 * request or response that needs it. Compiling is the larger part of Fastify's start for a
 * service with some fifty routes (Ajv alone about 30 ms of the reference service's 300). A
 * schema not in the record is compiled at start as always, so its errors still stop the start,
 * and is added once it compiled. Kept in the bundle's start cache (one record per `name`); a
 * process not started from a bundle has none and compiles every schema at start.
 */
export class CompiledSchemas {
  readonly #cache: StartCache
  readonly #name: string
  readonly #known: Set<string>
  /** The schemas this start met, compiled now or earlier: what the record is rewritten with. */
  readonly #met = new Set<string>()
  #pending: NodeJS.Timeout | undefined

  constructor(cache: StartCache, name: string) {
    this.#cache = cache
    this.#name = name
    this.#known = new Set(cache.read(name)?.split('\n'))
  }

  /** Whether an earlier start compiled this schema (and so this start met it). */
  has(fingerprint: string): boolean {
    if (!this.#known.has(fingerprint)) return false
    this.#met.add(fingerprint)
    return true
  }

  /**
   * Records a schema that compiled. Once the start's compiling is over, the record is rewritten
   * with the schemas this start met, so that it does not grow with schemas no longer in use; a
   * start that met only recorded schemas leaves it as it is.
   */
  add(fingerprint: string): void {
    this.#known.add(fingerprint)
    this.#met.add(fingerprint)
    if (this.#pending !== undefined) return
    this.#pending = setTimeout(() => {
      this.#pending = undefined
      this.#cache.write(this.#name, [...this.#met].join('\n'))
    }, 200).unref()
  }
}

/** A digest of JSON values, for a {@link CompiledSchemas} record. */
export const fingerprint = (...parts: unknown[]): string => createHash('sha256').update(JSON.stringify(parts)).digest('base64url')
