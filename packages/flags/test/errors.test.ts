import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { flagsErrors } from '../src/index.js'

const src = join(import.meta.dirname, '../src')

describe('the @plinth/flags error catalogue', () => {
  it('has the codes it documents, each with a title and a hint that says what to do', () => {
    expect(Object.keys(flagsErrors.entries)).toEqual(['PLINTH_ERR_FLAGS_INVALID', 'PLINTH_ERR_FLAGS_FILE', 'PLINTH_ERR_FLAGS_UNKNOWN_CHECK'])
    for (const entry of Object.values(flagsErrors.entries)) expect(entry.hint.length).toBeGreaterThan(30)
  })

  it('raises every code somewhere in the sources, besides the catalogue', async () => {
    const files = (await readdir(src)).filter((f) => f.endsWith('.ts') && f !== 'errors.ts')
    const text = (await Promise.all(files.map((f) => readFile(join(src, f), 'utf8')))).join('\n')
    expect(Object.keys(flagsErrors.entries).filter((code) => !text.includes(`'${code}'`))).toEqual([])
  })
})
