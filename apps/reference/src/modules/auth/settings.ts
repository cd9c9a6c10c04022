import { z } from 'zod'

const jwks = z.preprocess(
  (value) => {
    if (typeof value !== 'string') return value
    try {
      return JSON.parse(value) as unknown
    } catch {
      return value
    }
  },
  z.array(z.record(z.string(), z.unknown(), { error: 'must be a private JWK object; AUTH_SIGNING_KEYS holds a JSON array of them, the signing key first' })).min(1),
)

const list = z.preprocess((value) => (typeof value === 'string' ? value.split(',').map((s) => s.trim()).filter(Boolean) : value), z.array(z.string().email()))

/**
 * The auth module's section of the configuration (`auth.*`; AUTH_ISSUER, AUTH_ADMIN_EMAILS,
 * AUTH_ACCOUNT_FAILURES, AUTH_BASE_LOCKOUT, AUTH_ACCESS_TOKEN_LIFETIME, AUTH_SIGNING_KEYS).
 */
export const AuthSettings = z.object({
  /** The `iss` of access tokens. */
  issuer: z.string().min(1).default('plinth-reference'),
  /** The `aud` of access tokens. */
  audience: z.string().min(1).default('plinth-reference-api'),
  /** Seconds. */
  accessTokenLifetime: z.coerce.number().int().min(30).max(3_600).default(900),
  /**
   * Private JWKs (EdDSA), the signing key first, shared by every instance so that each verifies
   * the others' tokens and tokens outlive a restart. Unset: a key generated at start.
   */
  signingKeys: jwks.optional(),
  /** Emails that get the admin role when they register: how the first administrator appears. */
  adminEmails: list.default([]),
  /** Failed logins per account before the first lock. */
  accountFailures: z.coerce.number().int().min(1).max(100).default(5),
  /** The first lock, in milliseconds; it doubles with every further failure. */
  baseLockout: z.coerce.number().int().min(1).max(3_600_000).default(1_000),
})
