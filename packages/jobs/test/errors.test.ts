import { readdir, readFile } from 'node:fs/promises'
import { describe, expect, it } from 'vitest'
import { jobsErrors } from '../src/index.js'

describe('the @plinth/jobs error catalogue', () => {
  it('has every code raised somewhere in the sources, each with a title and a hint', async () => {
    const dir = new URL('../src/', import.meta.url)
    const files = (await readdir(dir)).filter((f) => f.endsWith('.ts') && f !== 'errors.ts')
    const sources = (await Promise.all(files.map((f) => readFile(new URL(f, dir), 'utf8')))).join('\n')
    const codes = Object.keys(jobsErrors.entries)
    expect(codes.length).toBe(14)
    for (const code of codes) {
      expect(sources, `${code} is never raised`).toContain(`'${code}'`)
      const entry = jobsErrors.entries[code as keyof typeof jobsErrors.entries]
      expect(entry.title.length).toBeGreaterThan(3)
      expect(entry.hint.length).toBeGreaterThan(20)
    }
  })
})
