import { isPlinthError } from '@plinth/core'
import { describe, expect, it } from 'vitest'
import { DenyList, MemoryAuthStore, MemoryRevocationStore, allows, createAuthentication, defineRoles } from '../src/index.js'

describe('roles', () => {
  const roles = defineRoles({ admin: ['*'], operator: ['devices:*', 'readings:write'], viewer: ['devices:read'] })

  it('grant what they declare, with resource and global wildcards', () => {
    expect(roles.grants(['viewer'], 'devices:read')).toBe(true)
    expect(roles.grants(['viewer'], 'devices:write')).toBe(false)
    expect(roles.grants(['operator'], 'devices:delete')).toBe(true)
    expect(roles.grants(['operator'], 'users:manage')).toBe(false)
    expect(roles.grants(['admin'], 'users:manage')).toBe(true)
    expect(roles.grants(['viewer', 'operator'], 'readings:write')).toBe(true)
  })

  it('grant nothing for a role that is no longer declared', () => {
    expect(roles.grants(['retired'], 'devices:read')).toBe(false)
    expect([...roles.permissionsOf(['retired', 'viewer'])]).toEqual(['devices:read'])
  })

  it('do not let a wildcard of one resource cover another that shares its prefix', () => {
    expect(allows(new Set(['devices:*']), 'devicesx:read')).toBe(false)
    expect(allows(new Set(['devices:*']), 'devices')).toBe(false)
  })

  it('refuse a malformed declaration, naming every problem', () => {
    try {
      defineRoles({ Admin: ['*'], ops: ['devices', 'x:*:y'], odd: 'devices:read' as unknown as string[] })
      expect.unreachable()
    } catch (error) {
      expect(isPlinthError(error, 'PLINTH_ERR_AUTH_INVALID_OPTIONS')).toBe(true)
      const message = (error as Error).message
      expect(message).toContain('role "Admin" must be 1-64 lower-case letters')
      expect(message).toContain('role "ops": permission "devices" must look like "resource:action"')
      expect(message).toContain('role "ops": permission "x:*:y"')
      expect(message).toContain('role "odd" must map to an array of permissions')
    }
  })

  it('name unknown roles and the declared ones', () => {
    expect(() => roles.assertKnown(['viewer', 'root', 'god'])).toThrow('unknown roles "root", "god"; declared: admin, operator, viewer')
  })
})

describe('the revocation store', () => {
  it('forgets an entry once it expires', async () => {
    let now = 1_000
    const store = new MemoryRevocationStore({ now: () => now })
    await store.put('jti:a', 1, 2_000)
    expect(await store.get('jti:a')).toBe(1)
    now = 2_000
    expect(await store.get('jti:a')).toBeUndefined()
    expect(store.size).toBe(0)
  })

  it('keeps the user version so that only older tokens are denied', async () => {
    const denied = new DenyList(new MemoryRevocationStore())
    await denied.denyBelowVersion('u1', 3, 60_000)
    expect(await denied.isDenied({ jti: 'j', sid: 's', sub: 'u1', ver: 2 })).toBe(true)
    expect(await denied.isDenied({ jti: 'j', sid: 's', sub: 'u1', ver: 3 })).toBe(false)
    expect(await denied.isDenied({ jti: 'j', sid: 's', sub: 'u2', ver: 0 })).toBe(false)
  })
})

describe('service tokens', () => {
  it('are access tokens without a session or a password, for the roles asked', async () => {
    const auth = await createAuthentication({ store: new MemoryAuthStore(), roles: { operator: ['devices:write'] }, issuer: 'https://auth.test', audience: 'api' })
    const principal = await auth.authenticate(await auth.issueServiceToken('ingest-worker', ['operator']))
    expect(principal).toMatchObject({ userId: 'ingest-worker', roles: ['operator'] })
    expect(principal.sessionId).toMatch(/^service:/)
    await expect(auth.issueServiceToken('x', ['root'])).rejects.toThrow('unknown role "root"; declared: operator')
  })
})
