import { readFileSync, readdirSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { pluginErrors } from '../src/index.js'

const src = new URL('../src/', import.meta.url)

describe('the plugins error catalogue', () => {
  it('holds these 18 codes, so that none disappears unnoticed', () => {
    expect(Object.keys(pluginErrors.entries)).toHaveLength(18)
  })

  it('has only codes that the sources raise', () => {
    const text = readdirSync(src)
      .filter((file) => file.endsWith('.ts') && file !== 'errors.ts')
      .map((file) => readFileSync(new URL(file, src), 'utf8'))
      .join('\n')
    expect(Object.keys(pluginErrors.entries).filter((code) => !text.includes(`'${code}'`))).toEqual([])
  })

  it('gives every code a title, a hint that says what to do, and a client status where it is not a server fault', () => {
    for (const [code, entry] of Object.entries(pluginErrors.entries)) {
      expect(code).toMatch(/^PLINTH_ERR_PLUGIN_[A-Z_]+$/)
      expect(entry.title.length).toBeGreaterThan(5)
      expect(entry.hint.length).toBeGreaterThan(30)
    }
    expect(pluginErrors.create('PLINTH_ERR_PLUGIN_REFUSED', 'no').status).toBe(403)
    expect(pluginErrors.create('PLINTH_ERR_PLUGIN_LIFECYCLE', 'no').status).toBeUndefined()
  })
})
