/**
 * Access tokens: short-lived JWTs signed with the key ring's current key, carrying the user,
 * roles, session and a version that lets a role change or logout-everywhere revoke earlier
 * tokens. Verification pins the algorithm, and checks kid, signature, issuer, audience, expiry,
 * not-before and the deny list.
 */
import { randomUUID } from 'node:crypto'
import { errors as joseErrors, jwtVerify, SignJWT, type JWTPayload, type ProtectedHeaderParameters } from 'jose'
import { authErrors } from './errors.js'
import type { KeyRing } from './keys.js'
import type { DenyList } from './revocation.js'

export interface AccessTokenOptions {
  /** The `iss` claim, checked on verification: the service's URL or name. */
  readonly issuer: string
  /** The `aud` claim, checked on verification. */
  readonly audience: string
  /** Lifetime in seconds. Default 900 (15 minutes; OWASP asks for short-lived tokens). */
  readonly lifetime?: number
  /** Clock skew tolerated on exp and nbf, in seconds. Default 30. */
  readonly clockTolerance?: number
}

/** What an access token says, once verified. */
export interface AccessClaims {
  readonly sub: string
  readonly roles: readonly string[]
  readonly sid: string
  readonly ver: number
  readonly jti: string
  readonly iat: number
  readonly exp: number
}

/** A freshly signed access token. */
export interface IssuedAccessToken {
  readonly token: string
  readonly jti: string
  /** Epoch ms. */
  readonly expiresAt: number
  /** Seconds, for an OAuth-style `expires_in`. */
  readonly expiresIn: number
}

/** Why a token was refused, as RFC 6750's `error_description` says it. */
function refusal(error: unknown): string {
  if (error instanceof joseErrors.JWTExpired) return 'the access token has expired; refresh it'
  if (error instanceof joseErrors.JWTClaimValidationFailed) return `the access token's "${error.claim}" claim is not accepted (${error.reason})`
  if (error instanceof joseErrors.JOSEAlgNotAllowed) return 'the access token is signed with an algorithm this service does not accept'
  if (error instanceof joseErrors.JWSSignatureVerificationFailed) return 'the access token\'s signature does not verify'
  if (error instanceof joseErrors.JWSInvalid || error instanceof joseErrors.JWTInvalid) return 'the access token is malformed'
  if (error instanceof joseErrors.JOSENotSupported) return 'the access token uses a format this service does not accept'
  if (authErrors.is(error)) return error.message
  return 'the access token could not be verified'
}

/**
 * Signs and verifies access tokens.
 *
 * @example
 * const tokens = new AccessTokens(ring, denyList, { issuer: 'https://api.example.com', audience: 'api' })
 * const { token } = await tokens.issue({ sub: 'user-1', roles: ['operator'], sid: 'session-1', ver: 0 })
 * const claims = await tokens.verify(token) // throws PLINTH_ERR_AUTH_UNAUTHENTICATED when it should
 */
export class AccessTokens {
  readonly lifetime: number
  readonly clockTolerance: number
  readonly #ring: KeyRing
  readonly #denied: DenyList
  readonly #issuer: string
  readonly #audience: string

  constructor(ring: KeyRing, denied: DenyList, options: AccessTokenOptions) {
    this.lifetime = options.lifetime ?? 900
    this.clockTolerance = options.clockTolerance ?? 30
    if (!Number.isInteger(this.lifetime) || this.lifetime < 1 || this.lifetime > 86_400) {
      throw authErrors.create('PLINTH_ERR_AUTH_INVALID_OPTIONS', `access token lifetime ${this.lifetime} s must be an integer from 1 to 86400 (one day); keep it short, 5 to 15 minutes`)
    }
    if (!options.issuer || !options.audience) throw authErrors.create('PLINTH_ERR_AUTH_INVALID_OPTIONS', 'access tokens need an issuer and an audience (non-empty strings), which verification checks')
    this.#ring = ring
    this.#denied = denied
    this.#issuer = options.issuer
    this.#audience = options.audience
  }

  /** Signs a token for `sub` in session `sid`. */
  async issue(claims: { sub: string; roles: readonly string[]; sid: string; ver: number }): Promise<IssuedAccessToken> {
    const key = this.#ring.signing
    const now = Math.floor(Date.now() / 1000)
    const jti = randomUUID()
    const token = await new SignJWT({ roles: [...claims.roles], sid: claims.sid, ver: claims.ver })
      .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'at+jwt' })
      .setSubject(claims.sub)
      .setIssuer(this.#issuer)
      .setAudience(this.#audience)
      .setIssuedAt(now)
      .setNotBefore(now)
      .setExpirationTime(now + this.lifetime)
      .setJti(jti)
      .sign(key.privateKey)
    return { token, jti, expiresAt: (now + this.lifetime) * 1000, expiresIn: this.lifetime }
  }

  /** The claims of a valid token; PLINTH_ERR_AUTH_UNAUTHENTICATED saying why otherwise. */
  async verify(token: string): Promise<AccessClaims> {
    let payload: JWTPayload
    try {
      const result = await jwtVerify(token, (header: ProtectedHeaderParameters) => this.#keyFor(header), {
        issuer: this.#issuer,
        audience: this.#audience,
        algorithms: [this.#ring.algorithm],
        typ: 'at+jwt',
        clockTolerance: this.clockTolerance,
        requiredClaims: ['sub', 'jti', 'exp', 'nbf', 'iat'],
      })
      payload = result.payload
    } catch (error) {
      throw authErrors.create('PLINTH_ERR_AUTH_UNAUTHENTICATED', refusal(error), { details: { error: 'invalid_token' } })
    }
    const claims = this.#shape(payload)
    if (await this.#denied.isDenied(claims)) {
      throw authErrors.create('PLINTH_ERR_AUTH_UNAUTHENTICATED', 'the access token has been revoked; log in again', { details: { error: 'invalid_token' } })
    }
    return claims
  }

  #keyFor(header: ProtectedHeaderParameters) {
    const key = this.#ring.find(header.kid)
    if (key === undefined) throw authErrors.create('PLINTH_ERR_AUTH_UNAUTHENTICATED', header.kid === undefined ? 'the access token names no key (kid)' : 'the access token was signed by a key this service no longer (or never) trusted')
    return key.publicKey
  }

  #shape(payload: JWTPayload): AccessClaims {
    const { sub, jti, iat, exp } = payload
    const roles = payload.roles
    const sid = payload.sid
    const ver = payload.ver
    if (typeof sub !== 'string' || typeof jti !== 'string' || typeof sid !== 'string' || typeof ver !== 'number' || !Array.isArray(roles) || !roles.every((r) => typeof r === 'string')) {
      throw authErrors.create('PLINTH_ERR_AUTH_UNAUTHENTICATED', 'the access token lacks the claims this service issues (sub, jti, sid, ver, roles)', { details: { error: 'invalid_token' } })
    }
    return { sub, jti, sid, ver, roles, iat: iat!, exp: exp! }
  }
}
