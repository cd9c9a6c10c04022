/**
 * Key paths ("http.port") and the plain objects they address. Configuration sources speak in
 * key paths (env names, CLI flags); the validator speaks in objects; this is the translation.
 */

/** The primitive shape an env or CLI string is converted to before validation. */
export type ValueKind = 'number' | 'boolean' | 'array'

export type Plain = Record<string, unknown>

// Writing these names through a key path would reach Object.prototype, not the config object.
const unsafeSegments = new Set(['__proto__', 'prototype', 'constructor'])

export function isPlainObject(value: unknown): value is Plain {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false
  const proto = Object.getPrototypeOf(value) as unknown
  return proto === Object.prototype || proto === null
}

export function isSafePath(path: string): boolean {
  return path.length > 0 && path.split('.').every((segment) => segment.length > 0 && !unsafeSegments.has(segment))
}

/**
 * Every leaf of an object as [key path, value]. Arrays and empty objects are leaves: a source
 * that sets a list replaces the whole list, as every layered config system users know does.
 */
export function leaves(value: Plain, prefix = ''): [string, unknown][] {
  const out: [string, unknown][] = []
  for (const [key, child] of Object.entries(value)) {
    const path = prefix === '' ? key : `${prefix}.${key}`
    if (isPlainObject(child) && Object.keys(child).length > 0) out.push(...leaves(child, path))
    else out.push([path, child])
  }
  return out
}

export function getPath(root: unknown, path: readonly PropertyKey[]): unknown {
  let node = root
  for (const segment of path) {
    if (typeof node !== 'object' || node === null) return undefined
    node = (node as Record<PropertyKey, unknown>)[segment]
  }
  return node
}

/** Sets a leaf, replacing any non-object met on the way (a later source wins over the shape too). */
export function setPath(root: Plain, path: string, value: unknown): void {
  const segments = path.split('.')
  const last = segments.pop() as string
  let node = root
  for (const segment of segments) {
    const next = node[segment]
    if (isPlainObject(next)) node = next
    else node = node[segment] = {}
  }
  node[last] = isPlainObject(value) ? structuredClone(value) : value
}

/** `database.maxConnections` -> `DATABASE_MAX_CONNECTIONS`, the name an operator would guess. */
export function envName(path: string): string {
  return path
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1_$2')
    .replace(/[^A-Za-z0-9]+/g, '_')
    .toUpperCase()
}

/** An issue path (`['http', 'port']`, `[{ key: 'tags' }, { key: 0 }]`) as `http.port`, `tags[0]`. */
export function formatPath(path: readonly (PropertyKey | { readonly key: PropertyKey })[] | undefined): { text: string; keys: PropertyKey[] } {
  const keys = (path ?? []).map((segment) => (typeof segment === 'object' ? segment.key : segment))
  let text = ''
  for (const key of keys) {
    if (typeof key === 'number') text += `[${key}]`
    else text += text === '' ? String(key) : `.${String(key)}`
  }
  return { text: text === '' ? '(root)' : text, keys }
}

export function kindOf(value: unknown): ValueKind | undefined {
  if (typeof value === 'number') return 'number'
  if (typeof value === 'boolean') return 'boolean'
  if (Array.isArray(value)) return 'array'
  return undefined
}

const truthy = new Set(['true', '1', 'yes', 'on'])
const falsy = new Set(['false', '0', 'no', 'off'])

/**
 * Converts an env or CLI string to the kind the key's default, file value or schema has, so
 * that `z.number()` accepts `HTTP_PORT=8001`. Returns an error text when it does not convert.
 */
export function convert(raw: string, kind: ValueKind | undefined): { value: unknown } | { error: string } {
  if (kind === 'number') {
    const value = raw.trim() === '' ? Number.NaN : Number(raw)
    return Number.isFinite(value) ? { value } : { error: 'expected a number' }
  }
  if (kind === 'boolean') {
    const word = raw.trim().toLowerCase()
    if (truthy.has(word)) return { value: true }
    if (falsy.has(word)) return { value: false }
    return { error: 'expected a boolean (true/false, 1/0, yes/no, on/off)' }
  }
  if (kind === 'array') {
    if (raw.trim().startsWith('[')) {
      try {
        const value: unknown = JSON.parse(raw)
        if (Array.isArray(value)) return { value }
      } catch {
        // Not JSON after all: a comma list that happens to start with a bracket.
      }
    }
    return { value: raw.trim() === '' ? [] : raw.split(',').map((item) => item.trim()) }
  }
  return { value: raw }
}

type JsonSchema = { [key: string]: unknown }

/**
 * Leaf key paths of a Standard JSON Schema (zod 4 provides one), with the kind of each where it
 * is unambiguous. Refs into `$defs` are followed once; unions other than "T or null" are leaves
 * of unknown kind, because guessing a conversion there would change what the user wrote.
 */
export function schemaLeaves(schema: unknown): Map<string, ValueKind | undefined> {
  const out = new Map<string, ValueKind | undefined>()
  const json = jsonSchemaOf(schema)
  if (!json) return out
  const defs = (json.$defs ?? json.definitions ?? {}) as Record<string, JsonSchema>
  const resolve = (node: JsonSchema, seen: Set<string>): JsonSchema | undefined => {
    const ref = node.$ref
    if (typeof ref !== 'string') return node
    const name = /^#\/(?:\$defs|definitions)\/(.+)$/.exec(ref)?.[1]
    if (name === undefined || seen.has(name)) return undefined
    seen.add(name)
    const target = defs[name]
    return target ? resolve(target, seen) : undefined
  }
  const walk = (raw: JsonSchema, prefix: string, seen: ReadonlySet<string>): void => {
    const path = new Set(seen)
    const node = resolve(raw, path)
    if (!node) return
    const properties = node.properties as Record<string, JsonSchema> | undefined
    if (properties && typeof properties === 'object') {
      for (const [key, child] of Object.entries(properties)) walk(child, prefix === '' ? key : `${prefix}.${key}`, path)
      return
    }
    if (prefix !== '') out.set(prefix, schemaKind(node))
  }
  walk(json, '', new Set())
  return out
}

function jsonSchemaOf(schema: unknown): JsonSchema | undefined {
  const standard = (schema as { '~standard'?: { jsonSchema?: { input?: (options: { target: string }) => unknown } } })['~standard']
  const input = standard?.jsonSchema?.input
  if (typeof input !== 'function') return undefined
  try {
    const json = input({ target: 'draft-2020-12' })
    return isPlainObject(json) ? json : undefined
  } catch {
    // Some schemas (transforms to custom types) have no JSON Schema; env mapping then relies on
    // defaults and files alone, which is what it does for validators without Standard JSON Schema.
    return undefined
  }
}

function schemaKind(node: JsonSchema): ValueKind | undefined {
  let types: unknown[] = Array.isArray(node.type) ? node.type : node.type === undefined ? [] : [node.type]
  const union = (node.anyOf ?? node.oneOf) as JsonSchema[] | undefined
  if (types.length === 0 && Array.isArray(union)) types = union.map((member) => member.type)
  const kinds = new Set(types.filter((t) => t !== 'null'))
  if (kinds.size !== 1) return undefined
  const [type] = kinds
  if (type === 'number' || type === 'integer') return 'number'
  if (type === 'boolean') return 'boolean'
  if (type === 'array') return 'array'
  return undefined
}
