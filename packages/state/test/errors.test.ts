import { readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { stateErrors } from '@plinth/state'

const src = join(import.meta.dirname, '../src')
const sources = readdirSync(src)
  .filter((file) => file.endsWith('.ts') && file !== 'errors.ts')
  .map((file) => readFileSync(join(src, file), 'utf8'))
  .join('\n')

describe('the state error catalogue', () => {
  it('holds the codes it held, so that none disappears unnoticed', () => {
    expect(Object.keys(stateErrors.entries).sort()).toEqual([
      'PLINTH_ERR_STATE_CONFLICT',
      'PLINTH_ERR_STATE_INVALID_KEY',
      'PLINTH_ERR_STATE_INVALID_OPTIONS',
      'PLINTH_ERR_STATE_INVALID_TTL',
      'PLINTH_ERR_STATE_NO_SCOPE',
      'PLINTH_ERR_STATE_SESSION_ENDED',
      'PLINTH_ERR_STATE_UNSERIALISABLE',
    ])
  })

  it.each(Object.keys(stateErrors.entries))('raises %s somewhere in src', (code) => {
    expect(sources).toContain(`'${code}'`)
  })

  it.each(Object.entries(stateErrors.entries))('gives %s a title and a hint', (_code, entry) => {
    expect(entry.title.length).toBeGreaterThan(0)
    expect(entry.hint.length).toBeGreaterThan(10)
  })
})
