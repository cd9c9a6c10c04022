import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { secretsErrors } from '../src/index.js'

const src = join(import.meta.dirname, '../src')

describe('the @plinth/secrets error catalogue', () => {
  it('has the codes it documents, each with a title and a hint that says what to do', () => {
    expect(Object.keys(secretsErrors.entries)).toHaveLength(12)
    for (const [code, entry] of Object.entries(secretsErrors.entries)) {
      expect(code).toMatch(/^PLINTH_ERR_(SECRET|SECRETS|VAULT)_[A-Z_]+$/)
      expect(entry.title.length).toBeGreaterThan(10)
      expect(entry.hint.length).toBeGreaterThan(30)
    }
  })

  it('raises every code somewhere in the sources, besides the catalogue', async () => {
    const files = (await readdir(src)).filter((f) => f.endsWith('.ts') && f !== 'errors.ts')
    const text = (await Promise.all(files.map((f) => readFile(join(src, f), 'utf8')))).join('\n')
    const unused = Object.keys(secretsErrors.entries).filter((code) => !text.includes(`'${code}'`) && !text.includes(`${code}:`))
    expect(unused).toEqual([])
  })
})
