import { readdirSync, readFileSync } from 'node:fs'
import { expect, it } from 'vitest'
import { discoveryErrors } from '@plinth/discovery'

const src = new URL('../src/', import.meta.url)
const sources = readdirSync(src)
  .filter((file) => file.endsWith('.ts') && file !== 'errors.ts')
  .map((file) => readFileSync(new URL(file, src), 'utf8'))
  .join('\n')
const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8')
const codes = Object.keys(discoveryErrors.entries)

it('has nine codes, none lost or added without this test knowing', () => {
  expect(codes).toHaveLength(9)
})

it.each(codes)('raises %s somewhere in src', (code) => {
  expect(sources).toContain(`'${code}'`)
})

it.each(codes)('documents %s in the README', (code) => {
  expect(readme).toContain(code)
})

it('raises no code of its own that the catalogue lacks', () => {
  const raised = new Set(sources.match(/PLINTH_ERR_DISCOVERY_[A-Z_]+/g))
  expect([...raised].sort()).toEqual([...codes].sort())
})

it('gives every code a title, a hint that says what to do, and a status where it is not a server fault', () => {
  for (const [code, entry] of Object.entries(discoveryErrors.entries)) {
    expect(entry.title, code).not.toBe('')
    expect(entry.hint.length, code).toBeGreaterThan(30)
  }
  expect(discoveryErrors.entries.PLINTH_ERR_DISCOVERY_INVALID_ADDRESS.status).toBe(400)
  expect(discoveryErrors.entries.PLINTH_ERR_DISCOVERY_NO_INSTANCE.status).toBe(503)
})
