import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { messagingErrors } from '../src/index.js'

const src = join(import.meta.dirname, '..', 'src')
const sources = readdirSync(src)
  .filter((file) => file.endsWith('.ts') && file !== 'errors.ts')
  .map((file) => readFileSync(join(src, file), 'utf8'))
  .join('\n')

describe('the @plinth/messaging error catalogue', () => {
  const codes = Object.keys(messagingErrors.entries)

  it('has the codes it has: adding or removing one is a decision, made here', () => {
    expect(codes).toHaveLength(7)
  })

  it.each(codes)('raises %s somewhere in src', (code) => {
    expect(sources).toContain(`'${code}'`)
  })

  it.each(codes)('gives %s a title and a hint that says what to do', (code) => {
    const entry = messagingErrors.entries[code as keyof typeof messagingErrors.entries]
    expect(entry.title.length).toBeGreaterThan(5)
    expect(entry.hint.length).toBeGreaterThan(20)
  })
})
