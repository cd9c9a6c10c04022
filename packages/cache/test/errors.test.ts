import { readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { cacheErrors } from '@plinth/cache'

const src = join(import.meta.dirname, '../src')
const sources = readdirSync(src)
  .filter((file) => file.endsWith('.ts') && file !== 'errors.ts')
  .map((file) => readFileSync(join(src, file), 'utf8'))
  .join('\n')

describe('the cache error catalogue', () => {
  it('holds the codes it held, so that none disappears unnoticed', () => {
    expect(Object.keys(cacheErrors.entries).sort()).toEqual([
      'PLINTH_ERR_CACHE_CLOSED',
      'PLINTH_ERR_CACHE_INVALID_KEY',
      'PLINTH_ERR_CACHE_INVALID_NAMESPACE',
      'PLINTH_ERR_CACHE_INVALID_OPTIONS',
      'PLINTH_ERR_CACHE_INVALID_TAG',
      'PLINTH_ERR_CACHE_INVALID_TTL',
      'PLINTH_ERR_CACHE_UNSERIALISABLE',
    ])
  })

  it.each(Object.keys(cacheErrors.entries))('raises %s somewhere in src', (code) => {
    expect(sources).toContain(`'${code}'`)
  })

  it.each(Object.entries(cacheErrors.entries))('gives %s a title and a hint', (_code, entry) => {
    expect(entry.title.length).toBeGreaterThan(0)
    expect(entry.hint.length).toBeGreaterThan(10)
  })
})
