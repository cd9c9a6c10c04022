/** Checks of what callers pass in, each failing with a code that says what is wrong and where. */
import { cacheErrors } from './errors.js'

export const maxKeyLength = 512
export const maxTagLength = 256
const namespacePattern = /^[A-Za-z0-9_.-]{1,64}$/

export function checkKey(key: unknown, namespace: string): asserts key is string {
  if (typeof key !== 'string' || key.length === 0 || key.length > maxKeyLength) {
    const what = typeof key !== 'string' ? `a ${typeof key}` : key.length === 0 ? 'empty' : `${key.length} characters long (at most ${maxKeyLength})`
    throw cacheErrors.create('PLINTH_ERR_CACHE_INVALID_KEY', `cache key in namespace "${namespace}" is ${what}`, { details: { namespace } })
  }
}

export function checkNamespace(name: unknown): asserts name is string {
  if (typeof name !== 'string' || !namespacePattern.test(name)) {
    const shown = typeof name === 'string' ? `"${name.length > 80 ? `${name.slice(0, 80)}...` : name}"` : `a ${typeof name}`
    throw cacheErrors.create('PLINTH_ERR_CACHE_INVALID_NAMESPACE', `cache namespace ${shown} is not 1 to 64 letters, digits, ".", "_" or "-"`)
  }
}

export function checkDuration(value: unknown, option: string, where: string): asserts value is number | undefined {
  if (value === undefined) return
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    const shown = typeof value === 'number' ? String(value) : `a ${typeof value}`
    throw cacheErrors.create('PLINTH_ERR_CACHE_INVALID_TTL', `${option} for "${where}" is ${shown}; give a finite number of milliseconds, 0 or more`)
  }
}

export function checkTags(tags: unknown, where: string): asserts tags is readonly string[] | undefined {
  if (tags === undefined) return
  if (!Array.isArray(tags)) throw cacheErrors.create('PLINTH_ERR_CACHE_INVALID_TAG', `tags for "${where}" must be an array of strings`)
  for (const tag of tags as unknown[]) {
    if (typeof tag !== 'string' || tag.length === 0 || tag.length > maxTagLength) {
      throw cacheErrors.create('PLINTH_ERR_CACHE_INVALID_TAG', `tag ${JSON.stringify(tag) ?? String(tag)} for "${where}" is not a string of 1 to ${maxTagLength} characters`)
    }
  }
}
