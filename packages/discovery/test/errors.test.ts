// Codes being pinned, raised, documented in docs/errors.md and given a title and hint is
// test/errors.test.ts's job, for every package; here only what is particular to discovery.
import { readFileSync } from 'node:fs'
import { expect, it } from 'vitest'
import { discoveryErrors } from '@plinth/discovery'

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8')
const codes = Object.keys(discoveryErrors.entries)

it.each(codes)('documents %s in the README', (code) => {
  expect(readme).toContain(code)
})

it('answers an invalid address as a client error and no instance as unavailable', () => {
  expect(discoveryErrors.entries.PLINTH_ERR_DISCOVERY_INVALID_ADDRESS.status).toBe(400)
  expect(discoveryErrors.entries.PLINTH_ERR_DISCOVERY_NO_INSTANCE.status).toBe(503)
})
