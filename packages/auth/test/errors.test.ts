import { readdirSync, readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { authErrors } from '../src/index.js'

const sources = readdirSync(new URL('../src/', import.meta.url))
  .filter((file) => file.endsWith('.ts') && file !== 'errors.ts')
  .map((file) => readFileSync(new URL(`../src/${file}`, import.meta.url), 'utf8'))
  .join('\n')

describe("auth's error catalogue", () => {
  it('has the codes it has: a code cannot disappear or appear unnoticed', () => {
    expect(Object.keys(authErrors.entries).sort()).toEqual([
      'PLINTH_ERR_AUTH_EMAIL_TAKEN',
      'PLINTH_ERR_AUTH_FORBIDDEN',
      'PLINTH_ERR_AUTH_INVALID_CREDENTIALS',
      'PLINTH_ERR_AUTH_INVALID_INPUT',
      'PLINTH_ERR_AUTH_INVALID_OPTIONS',
      'PLINTH_ERR_AUTH_INVALID_REFRESH_TOKEN',
      'PLINTH_ERR_AUTH_LOCKED',
      'PLINTH_ERR_AUTH_UNAUTHENTICATED',
      'PLINTH_ERR_AUTH_UNKNOWN_ROLE',
      'PLINTH_ERR_AUTH_UNKNOWN_USER',
      'PLINTH_ERR_AUTH_WEAK_PASSWORD',
    ])
  })

  it.each(Object.keys(authErrors.entries))('raises %s somewhere in src', (code) => {
    expect(sources).toContain(`'${code}'`)
  })

  it.each(Object.entries(authErrors.entries))('gives %s a hint saying what to do', (_code, entry) => {
    expect(entry.hint.length).toBeGreaterThan(20)
  })
})
