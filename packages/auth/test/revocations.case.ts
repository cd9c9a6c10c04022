/** One suite for every revocation store: memory (revocations-memory.test.ts) and Redis (redis.test.ts). */
import { expect, it } from 'vitest'
import { DenyList, type RevocationStore } from '../src/index.js'

export function describeRevocationStore(make: () => RevocationStore): void {
  it('keeps a value until it expires, and nothing for an unknown key', async () => {
    const store = make()
    await store.put('jti:a', 1, Date.now() + 60_000)
    await store.put('ver:u1', 4, Date.now() + 60_000)
    expect(await store.get('jti:a')).toBe(1)
    expect(await store.get('ver:u1')).toBe(4)
    expect(await store.get('jti:unknown')).toBeUndefined()
  })

  it('does not keep an entry whose end has passed', async () => {
    const store = make()
    await store.put('jti:old', 1, Date.now() - 1)
    expect(await store.get('jti:old')).toBeUndefined()
  })

  it('backs a deny list: a denied session is denied, another is not', async () => {
    const denied = new DenyList(make())
    await denied.denySession('s1', 60_000)
    expect(await denied.isDenied({ jti: 'j', sid: 's1', sub: 'u', ver: 0 })).toBe(true)
    expect(await denied.isDenied({ jti: 'j', sid: 's2', sub: 'u', ver: 0 })).toBe(false)
  })
}
