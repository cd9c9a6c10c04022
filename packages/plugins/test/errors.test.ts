// Codes being pinned, raised, documented and given a title and hint is test/errors.test.ts's job,
// for every package; here only what is particular to the plugins catalogue.
import { describe, expect, it } from 'vitest'
import { pluginErrors } from '../src/index.js'

describe('the plugins error catalogue', () => {
  it('names every code for plugins, and answers a refused capability as a client error', () => {
    for (const code of Object.keys(pluginErrors.entries)) expect(code).toMatch(/^PLINTH_ERR_PLUGIN_[A-Z_]+$/)
    expect(pluginErrors.create('PLINTH_ERR_PLUGIN_REFUSED', 'no').status).toBe(403)
    expect(pluginErrors.create('PLINTH_ERR_PLUGIN_LIFECYCLE', 'no').status).toBeUndefined()
  })
})
