/**
 * What every SecretStore does, run against each one (env, vault, chain): a store is given a
 * secret `greeting` = `hello-conformance` at the place its requests name, and nothing else.
 */
import { describe, expect, it } from 'vitest'
import type { SecretRequest, SecretStore } from '../src/index.js'

export interface StoreFixture {
  readonly store: SecretStore
  /** Names the seeded secret. */
  readonly present: SecretRequest
  /** Names a place this store looks at, where nothing is. */
  readonly absent: SecretRequest
  close(): Promise<void>
}

export function secretStoreConformance(name: string, open: () => Promise<StoreFixture>): void {
  describe(`SecretStore conformance: ${name}`, () => {
    it('reads a secret with its value and a source that names where it came from, not what it is', async () => {
      const fixture = await open()
      try {
        const secret = await fixture.store.read(fixture.present)
        expect(secret?.value).toBe('hello-conformance')
        expect(secret?.source).toMatch(/\S/)
        expect(secret?.source).not.toContain('hello-conformance')
      } finally {
        await fixture.close()
      }
    })

    it('gives no value for a secret that is not where the request says: undefined, or a not-found error naming the place', async () => {
      const fixture = await open()
      try {
        const outcome = await fixture.store.read(fixture.absent).then(
          (value) => ({ value }),
          (error: unknown) => ({ error: error as { code?: string; message: string } }),
        )
        if ('value' in outcome) expect(outcome.value).toBeUndefined()
        else {
          expect(outcome.error.code).toBe('PLINTH_ERR_SECRET_NOT_FOUND')
          expect(outcome.error.message).toContain(fixture.absent.vault?.path ?? fixture.absent.env ?? '')
        }
      } finally {
        await fixture.close()
      }
    })

    it('answers undefined for a request that names no place it looks at', async () => {
      const fixture = await open()
      try {
        expect(await fixture.store.read({ label: 'nowhere' })).toBeUndefined()
      } finally {
        await fixture.close()
      }
    })

    it('reads the same secret twice alike', async () => {
      const fixture = await open()
      try {
        const [a, b] = await Promise.all([fixture.store.read(fixture.present), fixture.store.read(fixture.present)])
        expect(a?.value).toBe(b?.value)
      } finally {
        await fixture.close()
      }
    })
  })
}
