/** Session and app state is stored as JSON; values JSON would change are refused at the call. */
import { stateErrors } from './errors.js'

function check(value: unknown, path: string, where: string, seen: object[]): void {
  const fail = (what: string): never => {
    throw stateErrors.create('PLINTH_ERR_STATE_UNSERIALISABLE', `cannot store ${where}: ${path} is ${what}, which JSON would not give back unchanged`)
  }
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return
    case 'number':
      if (!Number.isFinite(value)) fail(String(value))
      return
    case 'object':
      break
    default:
      fail(typeof value === 'bigint' ? 'a BigInt' : typeof value === 'undefined' ? 'undefined' : `a ${typeof value}`)
  }
  if (value === null) return
  const object = value as object
  if (seen.includes(object)) fail('a circular reference')
  seen.push(object)
  if (Array.isArray(object)) object.forEach((item: unknown, i) => check(item, `${path}[${i}]`, where, seen))
  else {
    const proto = Object.getPrototypeOf(object) as unknown
    if (proto !== Object.prototype && proto !== null) fail(`a ${(object as { constructor?: { name?: string } }).constructor?.name ?? 'class instance'}`)
    for (const [key, item] of Object.entries(object)) check(item, `${path}.${key}`, where, seen)
  }
  seen.pop()
}

/** JSON text of a value, refusing what JSON would change. */
export function toJson(value: unknown, where: string): string {
  check(value, '$', where, [])
  return JSON.stringify(value)
}

export function fromJson<T>(text: string | undefined): T | undefined {
  return text === undefined ? undefined : (JSON.parse(text) as T)
}
