/**
 * One suite for every store (memory.test.ts, sqlite.test.ts, postgres.test.ts): the store's own
 * contract, then authentication end to end on it: registration, login with rehash, refresh
 * rotation, reuse detection, logout, logout everywhere, role changes, lockout.
 */
import { isPlinthError } from '@plinth/core'
import { afterEach, describe, expect, it } from 'vitest'
import { MemoryAttemptCounter, createAuthentication, hashRefreshToken, type AuthOptions, type AuthStore, type SecurityLog } from '../src/index.js'

export interface StoreUnderTest {
  /** A fresh, empty store (its own database or schema), and how to remove it. */
  fresh(): Promise<{ store: AuthStore; cleanup(): Promise<void> }>
}

const password = 'tulip harbour quietly forty-seven'
const cheap = { memoryCost: 1024, timeCost: 1, parallelism: 1 }
const roles = { admin: ['*'], operator: ['devices:write', 'devices:read'], user: ['devices:read'] }

function capture(): SecurityLog & { lines: Array<{ level: string; details: Record<string, unknown>; message: string }> } {
  const lines: Array<{ level: string; details: Record<string, unknown>; message: string }> = []
  return { lines, info: (details, message) => lines.push({ level: 'info', details, message }), warn: (details, message) => lines.push({ level: 'warn', details, message }) }
}

async function rejection(promise: Promise<unknown>): Promise<Error & { code?: string; details?: Record<string, unknown> }> {
  return (await promise.then(
    () => expect.unreachable('expected a rejection'),
    (e: unknown) => e,
  )) as Error
}

export function describeConformance(engine: StoreUnderTest): void {
  const cleanups: Array<() => Promise<void>> = []
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
  })
  const fresh = async () => {
    const { store, cleanup } = await engine.fresh()
    cleanups.push(cleanup)
    return store
  }
  const service = async (overrides: Partial<AuthOptions> = {}) => {
    const store = await fresh()
    const log = capture()
    const auth = await createAuthentication({ store, roles, defaultRoles: ['user'], issuer: 'https://auth.test', audience: 'reference', argon2: cheap, log, attempts: new MemoryAttemptCounter(), ...overrides })
    return { auth, store, log }
  }

  describe('the store', () => {
    const user = { id: 'u1', email: 'ada@example.com', passwordHash: 'h', roles: ['user'], tokenVersion: 0, createdAt: 1_700_000_000_000 }

    it('keeps users, finds them by email and id, and refuses a second account for one email', async () => {
      const store = await fresh()
      await store.createUser(user)
      expect(await store.userByEmail('ada@example.com')).toEqual(user)
      expect(await store.userById('u1')).toEqual(user)
      expect(await store.userById('nobody')).toBeUndefined()
      const error = await rejection(store.createUser({ ...user, id: 'u2' }))
      expect(isPlinthError(error, 'PLINTH_ERR_AUTH_EMAIL_TAKEN')).toBe(true)
    })

    it('raises the token version with each role change, and updates the hash', async () => {
      const store = await fresh()
      await store.createUser(user)
      expect(await store.setRoles('u1', ['admin'])).toBe(1)
      expect(await store.raiseTokenVersion('u1')).toBe(2)
      await store.updatePasswordHash('u1', 'h2')
      expect(await store.userById('u1')).toMatchObject({ roles: ['admin'], tokenVersion: 2, passwordHash: 'h2' })
      expect(await store.setRoles('nobody', [])).toBeUndefined()
    })

    it('marks a refresh token used exactly once, even when two callers race', async () => {
      const store = await fresh()
      await store.createUser(user)
      await store.createFamily({ id: 'f1', userId: 'u1', createdAt: 1, expiresAt: 2e12, revokedAt: undefined, revokeReason: undefined })
      await store.insertRefreshToken({ hash: 'a'.repeat(64), familyId: 'f1', userId: 'u1', issuedAt: 1, expiresAt: 2e12, usedAt: undefined })
      const results = await Promise.all([store.markRefreshTokenUsed('a'.repeat(64), 5), store.markRefreshTokenUsed('a'.repeat(64), 6)])
      expect(results.filter(Boolean)).toHaveLength(1)
      expect((await store.refreshToken('a'.repeat(64)))?.usedAt).toBeTypeOf('number')
    })

    it('revokes one family, or every live family of a user', async () => {
      const store = await fresh()
      await store.createUser(user)
      for (const id of ['f1', 'f2', 'f3']) await store.createFamily({ id, userId: 'u1', createdAt: 1, expiresAt: 2e12, revokedAt: undefined, revokeReason: undefined })
      expect(await store.revokeFamily('f1', 'logout', 10)).toBe(true)
      expect(await store.revokeFamily('f1', 'logout', 11)).toBe(false)
      expect((await store.revokeFamiliesOf('u1', 'everywhere', 12)).sort()).toEqual(['f2', 'f3'])
      expect(await store.family('f2')).toMatchObject({ revokedAt: 12, revokeReason: 'everywhere' })
      expect(await store.family('f1')).toMatchObject({ revokedAt: 10, revokeReason: 'logout' })
    })

    it('records audit events and lists them newest first, by user and type', async () => {
      const store = await fresh()
      await store.recordAudit({ type: 'login', at: 100, userId: 'u1', ip: '203.0.113.9', details: { session: 's' } })
      await store.recordAudit({ type: 'login_failed', at: 200, userId: undefined, ip: '203.0.113.9' })
      await store.recordAudit({ type: 'logout', at: 300, userId: 'u1' })
      expect((await store.auditEvents()).map((e) => e.type)).toEqual(['logout', 'login_failed', 'login'])
      expect(await store.auditEvents({ userId: 'u1', type: 'login' })).toEqual([expect.objectContaining({ type: 'login', at: 100, userId: 'u1', ip: '203.0.113.9', details: { session: 's' } })])
      expect(await store.auditEvents({ limit: 1 })).toHaveLength(1)
    })
  })

  describe('authentication on the store', () => {
    it('registers, logs in and authenticates: the principal carries the default role and its permissions', async () => {
      const { auth } = await service()
      const user = await auth.register({ email: ' Ada@Example.com ', password }, { ip: '203.0.113.9' })
      expect(user).toMatchObject({ email: 'ada@example.com', roles: ['user'] })
      expect(user).not.toHaveProperty('passwordHash')
      const pair = await auth.login({ email: 'ada@example.com', password }, { ip: '203.0.113.9' })
      expect(pair).toMatchObject({ tokenType: 'Bearer', expiresIn: 900 })
      const principal = await auth.authenticate(pair.accessToken)
      expect(principal).toMatchObject({ userId: user.id, roles: ['user'] })
      expect([...principal.permissions]).toEqual(['devices:read'])
    })

    it('refuses a weak password, a second registration and malformed input, each clearly', async () => {
      const { auth } = await service()
      expect((await rejection(auth.register({ email: 'ada@example.com', password: 'password' }))).code).toBe('PLINTH_ERR_AUTH_WEAK_PASSWORD')
      await auth.register({ email: 'ada@example.com', password })
      expect((await rejection(auth.register({ email: 'ADA@example.com', password }))).code).toBe('PLINTH_ERR_AUTH_EMAIL_TAKEN')
      expect((await rejection(auth.register({ email: 42, password }))).message).toMatch(/email number/)
      expect((await rejection(auth.register({ email: 'not-an-email', password }))).code).toBe('PLINTH_ERR_AUTH_INVALID_INPUT')
    })

    it('gives the same error for a wrong password and an unknown email', async () => {
      const { auth } = await service()
      await auth.register({ email: 'ada@example.com', password })
      const wrong = await rejection(auth.login({ email: 'ada@example.com', password: 'not the password at all' }))
      const unknown = await rejection(auth.login({ email: 'nobody@example.com', password: 'not the password at all' }))
      expect([wrong.code, wrong.message]).toEqual([unknown.code, unknown.message])
      expect(wrong.code).toBe('PLINTH_ERR_AUTH_INVALID_CREDENTIALS')
    })

    it('upgrades a hash made with older parameters at the next successful login', async () => {
      const { auth, store } = await service({ argon2: cheap })
      const user = await auth.register({ email: 'ada@example.com', password })
      const stronger = await createAuthentication({ store, roles, issuer: 'https://auth.test', audience: 'reference', argon2: { ...cheap, memoryCost: 2048 } })
      await stronger.login({ email: 'ada@example.com', password })
      expect((await store.userById(user.id))?.passwordHash).toMatch(/\$m=2048,t=1,p=1\$/)
      expect(await store.auditEvents({ userId: user.id, type: 'password_rehashed' })).toHaveLength(1)
    })

    it('rotates refresh tokens, storing only their hash', async () => {
      const { auth, store } = await service()
      await auth.register({ email: 'ada@example.com', password })
      const first = await auth.login({ email: 'ada@example.com', password })
      const second = await auth.refresh(first.refreshToken)
      expect(second.refreshToken).not.toBe(first.refreshToken)
      expect(await store.refreshToken(first.refreshToken)).toBeUndefined()
      expect((await store.refreshToken(hashRefreshToken(first.refreshToken)))?.usedAt).toBeTypeOf('number')
      expect(await auth.authenticate(second.accessToken)).toMatchObject({ roles: ['user'] })
    })

    it('revokes the whole family when a used refresh token comes back, and logs it as a security event', async () => {
      const { auth, store, log } = await service()
      const user = await auth.register({ email: 'ada@example.com', password })
      const first = await auth.login({ email: 'ada@example.com', password }, { ip: '198.51.100.7' })
      const second = await auth.refresh(first.refreshToken)
      const reuse = await rejection(auth.refresh(first.refreshToken, { ip: '198.51.100.7' }))
      expect(reuse.code).toBe('PLINTH_ERR_AUTH_INVALID_REFRESH_TOKEN')
      expect(reuse.message).toMatch(/already used; the session is revoked/)
      // The legitimate holder's newer tokens die with the family.
      expect((await rejection(auth.refresh(second.refreshToken))).message).toMatch(/session was ended \(refresh token reused\)/)
      expect((await rejection(auth.authenticate(second.accessToken))).message).toMatch(/revoked/)
      expect(log.lines).toContainEqual(expect.objectContaining({ level: 'warn', details: expect.objectContaining({ security: 'refresh_reuse', userId: user.id }) }))
      expect(await store.auditEvents({ userId: user.id, type: 'refresh_reused' })).toHaveLength(1)
    })

    it('refuses an unknown or malformed refresh token', async () => {
      const { auth } = await service()
      expect((await rejection(auth.refresh('x'.repeat(43)))).message).toBe('the refresh token is not recognised')
      expect((await rejection(auth.refresh(undefined))).message).toBe('the refresh token is missing or malformed')
    })

    it('logs out one session: its access and refresh tokens stop working, other sessions go on', async () => {
      const { auth } = await service()
      await auth.register({ email: 'ada@example.com', password })
      const laptop = await auth.login({ email: 'ada@example.com', password })
      const phone = await auth.login({ email: 'ada@example.com', password })
      await auth.logout(await auth.authenticate(laptop.accessToken))
      expect((await rejection(auth.authenticate(laptop.accessToken))).code).toBe('PLINTH_ERR_AUTH_UNAUTHENTICATED')
      expect((await rejection(auth.refresh(laptop.refreshToken))).code).toBe('PLINTH_ERR_AUTH_INVALID_REFRESH_TOKEN')
      expect(await auth.authenticate(phone.accessToken)).toBeDefined()
      expect(await auth.refresh(phone.refreshToken)).toBeDefined()
    })

    it('logs out everywhere: every session of the user ends, access tokens included', async () => {
      const { auth } = await service()
      const user = await auth.register({ email: 'ada@example.com', password })
      const laptop = await auth.login({ email: 'ada@example.com', password })
      const phone = await auth.login({ email: 'ada@example.com', password })
      expect(await auth.logoutAll(user.id)).toBe(2)
      for (const pair of [laptop, phone]) {
        expect((await rejection(auth.authenticate(pair.accessToken))).message).toMatch(/revoked/)
        expect((await rejection(auth.refresh(pair.refreshToken))).code).toBe('PLINTH_ERR_AUTH_INVALID_REFRESH_TOKEN')
      }
      const again = await auth.login({ email: 'ada@example.com', password })
      expect(await auth.authenticate(again.accessToken)).toMatchObject({ userId: user.id })
    })

    it('makes a role change take effect at once: old access tokens are refused, a refresh carries the new roles', async () => {
      const { auth } = await service()
      const user = await auth.register({ email: 'ada@example.com', password })
      const before = await auth.login({ email: 'ada@example.com', password })
      await auth.changeRoles(user.id, ['operator'], 'admin-1')
      expect((await rejection(auth.authenticate(before.accessToken))).message).toMatch(/revoked/)
      const after = await auth.refresh(before.refreshToken)
      const principal = await auth.authenticate(after.accessToken)
      expect(principal.roles).toEqual(['operator'])
      expect(auth.roles.grants(principal.roles, 'devices:write')).toBe(true)
      expect((await rejection(auth.changeRoles(user.id, ['root']))).message).toBe('unknown role "root"; declared: admin, operator, user')
      expect((await rejection(auth.changeRoles('nobody', ['user']))).code).toBe('PLINTH_ERR_AUTH_UNKNOWN_USER')
    })

    it('locks an account after repeated failures, with a growing Retry-After, whether or not it exists, and logs the lockout', async () => {
      const { auth, store, log } = await service({ throttle: { accountFailures: 3, baseLockout: 60_000 } })
      await auth.register({ email: 'ada@example.com', password })
      for (const email of ['ada@example.com', 'ghost@example.com']) {
        for (let i = 0; i < 3; i++) expect((await rejection(auth.login({ email, password: 'wrong password here!' }))).code).toBe('PLINTH_ERR_AUTH_INVALID_CREDENTIALS')
        const locked = await rejection(auth.login({ email, password: email === 'ada@example.com' ? password : 'anything' }))
        expect(locked.code).toBe('PLINTH_ERR_AUTH_LOCKED')
        expect(locked.details?.retryAfter).toBeGreaterThan(55)
      }
      expect(log.lines.filter((line) => line.details.security === 'lockout')).toHaveLength(2)
      expect(await store.auditEvents({ type: 'locked_out' })).toHaveLength(2)
    })
  })
}
