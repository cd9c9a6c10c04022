import { describe, expect, it } from 'vitest'
import { EnvSecrets } from '../src/index.js'
import { secretStoreConformance } from './conformance.js'

secretStoreConformance('env', async () => ({
  store: new EnvSecrets({ GREETING: 'hello-conformance' }),
  present: { label: 'greeting', env: 'GREETING' },
  absent: { label: 'missing', env: 'NOT_SET_ANYWHERE' },
  close: async () => {},
}))

describe('EnvSecrets', () => {
  it('takes an empty variable as unset, so that a chain looks further', async () => {
    expect(await new EnvSecrets({ API_KEY: '' }).read({ label: 'k', env: 'API_KEY' })).toBeUndefined()
  })

  it('names the variable as the source', async () => {
    expect(await new EnvSecrets({ API_KEY: 'abc' }).read({ label: 'k', env: 'API_KEY' })).toEqual({ value: 'abc', source: 'env API_KEY' })
  })
})
