import { readFileSync, readdirSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { cqrsErrors } from '../src/index.js'

const src = new URL('../src/', import.meta.url)
const sources = readdirSync(src)
  .filter((file) => file !== 'errors.ts')
  .map((file) => readFileSync(new URL(file, src), 'utf8'))
  .join('\n')

describe("@plinth/cqrs's error catalogue", () => {
  it('raises every code it declares, and declares every code it raises', () => {
    const declared = Object.keys(cqrsErrors.entries).sort()
    const raised = [...new Set(sources.match(/PLINTH_ERR_[A-Z0-9_]+/g))].sort()
    expect(raised).toEqual(declared)
  })

  it('keeps its codes: none disappears or is renamed without this list changing', () => {
    expect(Object.keys(cqrsErrors.entries).sort()).toEqual([
      'PLINTH_ERR_COMMAND_INVALID',
      'PLINTH_ERR_EVENTS_CONFLICT',
      'PLINTH_ERR_EVENTS_DUPLICATE_ID',
      'PLINTH_ERR_EVENTS_INVALID',
      'PLINTH_ERR_EVENTS_SETUP',
      'PLINTH_ERR_EVENTS_SUBSCRIPTION',
      'PLINTH_ERR_EVENTS_UNAVAILABLE',
      'PLINTH_ERR_EVENTS_UNKNOWN_PROJECTION',
      'PLINTH_ERR_EVENTS_UPCAST',
      'PLINTH_ERR_QUERY_INVALID',
      'PLINTH_ERR_QUERY_STALE',
      'PLINTH_ERR_SAGA_INVALID',
      'PLINTH_ERR_SAGA_NEEDS_ATTENTION',
      'PLINTH_ERR_SAGA_STEP_FAILED',
      'PLINTH_ERR_SAGA_TIMEOUT',
      'PLINTH_ERR_SAGA_UNKNOWN',
    ])
  })
})
