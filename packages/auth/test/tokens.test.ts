import { createHmac } from 'node:crypto'
import { isPlinthError } from '@plinth/core'
import { SignJWT, UnsecuredJWT, decodeProtectedHeader, exportJWK, generateKeyPair } from 'jose'
import { describe, expect, it } from 'vitest'
import { AccessTokens, DenyList, KeyRing, MemoryRevocationStore } from '../src/index.js'

const options = { issuer: 'https://auth.test', audience: 'reference', lifetime: 60, clockTolerance: 0 }
const claims = { sub: 'user-1', roles: ['operator'], sid: 'session-1', ver: 0 }

async function setup(now: () => number = Date.now) {
  const ring = await KeyRing.generate({ retainFor: 60_000, now })
  const denied = new DenyList(new MemoryRevocationStore())
  return { ring, denied, tokens: new AccessTokens(ring, denied, options) }
}

async function refused(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(() => undefined, (e: unknown) => e)
  expect(isPlinthError(error, 'PLINTH_ERR_AUTH_UNAUTHENTICATED'), String(error)).toBe(true)
  return (error as Error).message
}

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url')

describe('access tokens', () => {
  it('issue EdDSA tokens with kid, iss, aud, exp, nbf, iat and jti, and verify them', async () => {
    const { ring, tokens } = await setup()
    const { token, jti, expiresIn } = await tokens.issue(claims)
    expect(decodeProtectedHeader(token)).toEqual({ alg: 'EdDSA', kid: ring.signing.kid, typ: 'at+jwt' })
    const verified = await tokens.verify(token)
    expect(verified).toMatchObject({ ...claims, jti })
    expect(verified.exp - verified.iat).toBe(expiresIn)
  })

  it('refuse alg "none"', async () => {
    const { tokens, ring } = await setup()
    const unsecured = new UnsecuredJWT({ ...claims }).setSubject('user-1').setIssuer(options.issuer).setAudience(options.audience).setIssuedAt().setNotBefore('0s').setExpirationTime('1m').setJti('x').encode()
    expect(await refused(tokens.verify(unsecured))).toMatch(/algorithm|malformed|format/)
    const withKid = `${b64({ alg: 'none', kid: ring.signing.kid, typ: 'at+jwt' })}.${unsecured.split('.')[1]}.`
    expect(await refused(tokens.verify(withKid))).toMatch(/algorithm/)
  })

  it('refuse an HS256 token signed with the public key as the HMAC secret (algorithm confusion)', async () => {
    const { tokens, ring } = await setup()
    const secret = JSON.stringify(ring.signing.publicJwk)
    const header = b64({ alg: 'HS256', kid: ring.signing.kid, typ: 'at+jwt' })
    const now = Math.floor(Date.now() / 1000)
    const payload = b64({ ...claims, iss: options.issuer, aud: options.audience, iat: now, nbf: now, exp: now + 60, jti: 'x' })
    for (const key of [secret, ring.signing.publicJwk.x!]) {
      const signature = createHmac('sha256', key).update(`${header}.${payload}`).digest('base64url')
      expect(await refused(tokens.verify(`${header}.${payload}.${signature}`))).toMatch(/algorithm/)
    }
  })

  it('refuse an expired token, saying to refresh', async () => {
    const { tokens, ring } = await setup()
    const past = Math.floor(Date.now() / 1000) - 120
    const expired = await new SignJWT({ roles: [], sid: 's', ver: 0 })
      .setProtectedHeader({ alg: 'EdDSA', kid: ring.signing.kid, typ: 'at+jwt' })
      .setSubject('u').setIssuer(options.issuer).setAudience(options.audience).setIssuedAt(past).setNotBefore(past).setExpirationTime(past + 60).setJti('j')
      .sign(ring.signing.privateKey)
    expect(await refused(tokens.verify(expired))).toBe('the access token has expired; refresh it')
  })

  it('refuse a token that is not valid yet (nbf in the future)', async () => {
    const { tokens, ring } = await setup()
    const future = Math.floor(Date.now() / 1000) + 600
    const early = await new SignJWT({ roles: [], sid: 's', ver: 0 })
      .setProtectedHeader({ alg: 'EdDSA', kid: ring.signing.kid, typ: 'at+jwt' })
      .setSubject('u').setIssuer(options.issuer).setAudience(options.audience).setIssuedAt().setNotBefore(future).setExpirationTime(future + 60).setJti('j')
      .sign(ring.signing.privateKey)
    expect(await refused(tokens.verify(early))).toMatch(/"nbf" claim/)
  })

  it('refuse a tampered token: a changed payload breaks the signature', async () => {
    const { tokens } = await setup()
    const { token } = await tokens.issue(claims)
    const [header, payload, signature] = token.split('.') as [string, string, string]
    const raised = b64({ ...JSON.parse(Buffer.from(payload, 'base64url').toString()), roles: ['admin'] })
    expect(await refused(tokens.verify(`${header}.${raised}.${signature}`))).toMatch(/signature/)
  })

  it('refuse a wrong audience and a wrong issuer', async () => {
    const { ring, denied, tokens } = await setup()
    const other = new AccessTokens(ring, denied, { ...options, audience: 'billing' })
    const { token } = await other.issue(claims)
    expect(await refused(tokens.verify(token))).toMatch(/"aud" claim/)
    const foreign = new AccessTokens(ring, denied, { ...options, issuer: 'https://evil.test' })
    expect(await refused(tokens.verify((await foreign.issue(claims)).token))).toMatch(/"iss" claim/)
  })

  it('refuse a token signed by a key the ring does not hold, even with a known kid', async () => {
    const { tokens, ring } = await setup()
    const { privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519' })
    const now = Math.floor(Date.now() / 1000)
    const forged = await new SignJWT({ roles: ['admin'], sid: 's', ver: 0 })
      .setProtectedHeader({ alg: 'EdDSA', kid: ring.signing.kid, typ: 'at+jwt' })
      .setSubject('u').setIssuer(options.issuer).setAudience(options.audience).setIssuedAt(now).setNotBefore(now).setExpirationTime(now + 60).setJti('j')
      .sign(privateKey)
    expect(await refused(tokens.verify(forged))).toMatch(/signature/)
    const unknownKid = forged.replace(forged.split('.')[0]!, b64({ alg: 'EdDSA', kid: 'nobody', typ: 'at+jwt' }))
    expect(await refused(tokens.verify(unknownKid))).toMatch(/key this service no longer/)
  })

  it('refuse a revoked token: by id, by session and below the user version', async () => {
    const { tokens, denied } = await setup()
    const one = await tokens.issue(claims)
    await denied.denyToken(one.jti, one.expiresAt)
    expect(await refused(tokens.verify(one.token))).toMatch(/revoked/)
    const two = await tokens.issue({ ...claims, sid: 'session-2' })
    await denied.denySession('session-2', 60_000)
    expect(await refused(tokens.verify(two.token))).toMatch(/revoked/)
    const three = await tokens.issue({ ...claims, sid: 'session-3', ver: 1 })
    await denied.denyBelowVersion('user-1', 2, 60_000)
    expect(await refused(tokens.verify(three.token))).toMatch(/revoked/)
    expect(await tokens.verify((await tokens.issue({ ...claims, sid: 'session-3', ver: 2 })).token)).toMatchObject({ ver: 2 })
  })

  it('verify with ES256 when configured, and refuse an EdDSA token then', async () => {
    const ring = await KeyRing.generate({ retainFor: 60_000, algorithm: 'ES256' })
    const tokens = new AccessTokens(ring, new DenyList(new MemoryRevocationStore()), options)
    const { token } = await tokens.issue(claims)
    expect(decodeProtectedHeader(token).alg).toBe('ES256')
    expect(await tokens.verify(token)).toMatchObject(claims)
    const eddsa = await setup()
    expect(await refused(tokens.verify((await eddsa.tokens.issue(claims)).token))).toMatch(/algorithm|key/)
  })

  it('refuse options that cannot be right', async () => {
    const { ring, denied } = await setup()
    expect(() => new AccessTokens(ring, denied, { ...options, lifetime: 0 })).toThrow(/lifetime 0 s/)
    expect(() => new AccessTokens(ring, denied, { ...options, audience: '' })).toThrow(/issuer and an audience/)
  })
})

describe('key rotation', () => {
  it('signs with the new key, verifies with the old one until its tokens have expired, then drops it', async () => {
    let now = 1_000_000
    const { ring, tokens } = await setup(() => now)
    const old = ring.signing.kid
    const before = await tokens.issue(claims)
    await ring.rotate()
    const after = await tokens.issue(claims)
    expect(decodeProtectedHeader(after.token).kid).not.toBe(old)
    expect(ring.jwks().keys.map((k) => k.kid)).toEqual([ring.signing.kid, old])
    expect(await tokens.verify(before.token)).toMatchObject({ sub: 'user-1' })
    now += 60_001
    expect(ring.jwks().keys.map((k) => k.kid)).toEqual([ring.signing.kid])
    expect(await refused(tokens.verify(before.token))).toMatch(/key this service no longer/)
  })

  it('publishes public keys only, with kid, alg and use', async () => {
    const { ring } = await setup()
    const [key] = ring.jwks().keys
    expect(key).toMatchObject({ kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA', use: 'sig', kid: ring.signing.kid })
    expect(key).not.toHaveProperty('d')
  })

  it('shares keys between instances through private JWKs, and refuses public or foreign ones', async () => {
    const { ring, tokens } = await setup()
    const twin = await KeyRing.fromJwks(await ring.exportPrivateJwks(), { retainFor: 60_000 })
    expect(twin.signing.kid).toBe(ring.signing.kid)
    const twinTokens = new AccessTokens(twin, new DenyList(new MemoryRevocationStore()), options)
    expect(await twinTokens.verify((await tokens.issue(claims)).token)).toMatchObject(claims)
    await expect(KeyRing.fromJwks([ring.signing.publicJwk], { retainFor: 1 })).rejects.toThrow(/is a public key/)
    await expect(KeyRing.fromJwks([], { retainFor: 1 })).rejects.toThrow(/empty/)
    const { privateKey } = await generateKeyPair('ES256', { extractable: true })
    await expect(KeyRing.fromJwks([await exportJWK(privateKey)], { retainFor: 1 })).rejects.toThrow(/not a usable EdDSA private JWK/)
  })
})
