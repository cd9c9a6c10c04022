import { describe, expect, it } from 'vitest'
import { isSecretReference, parseSecretReference } from '../src/index.js'

describe('secret references', () => {
  it('reads a KV v2 API path with its field, and a pinned version', () => {
    expect(parseSecretReference('vault:secret/data/app#openaiApiKey')).toEqual({ label: 'vault:secret/data/app#openaiApiKey', vault: { mount: 'secret', path: 'app', key: 'openaiApiKey' } })
    expect(parseSecretReference('vault:team/kv/data/services/payments#apiKey@4').vault).toEqual({ mount: 'team/kv', path: 'services/payments', key: 'apiKey', version: 4 })
  })

  it('reads an environment reference, and a Vault one with its fallback variable', () => {
    expect(parseSecretReference('env:OPENAI_API_KEY')).toEqual({ label: 'env:OPENAI_API_KEY', env: 'OPENAI_API_KEY' })
    expect(parseSecretReference('vault:secret/data/app#k', { fallbackEnv: 'K' }).env).toBe('K')
  })

  it.each([
    ['vault:secret/app#openaiApiKey', 'with /data/ after the mount'],
    ['vault:secret/data/app', 'the field is missing'],
    ['env:openai-api-key', 'env:<NAME>'],
    ['vault:/data/app#k', 'expected vault:<mount>/data/<path>#<key>'],
  ])('refuses %s, saying what is wrong and where', (text, why) => {
    expect(() => parseSecretReference(text, { where: 'env OPENAI_API_KEY' })).toThrow(
      expect.objectContaining({ code: 'PLINTH_ERR_SECRET_REFERENCE', message: expect.stringMatching(new RegExp(`^malformed secret reference "${text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}" in env OPENAI_API_KEY: .*${why.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}`)) }) as Error,
    )
  })

  it('tells a reference from a plain value', () => {
    expect(isSecretReference('vault:x')).toBe(true)
    expect(isSecretReference('sk-live-123')).toBe(false)
    expect(isSecretReference(undefined)).toBe(false)
  })
})
