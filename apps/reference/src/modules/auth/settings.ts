import { z } from 'zod'

const list = z.preprocess((value) => (typeof value === 'string' ? value.split(',').map((s) => s.trim()).filter(Boolean) : value), z.array(z.string().email()))

/**
 * The auth module's section of the configuration (`auth.*`; AUTH_ISSUER, AUTH_ADMIN_EMAILS,
 * AUTH_ACCOUNT_FAILURES, AUTH_BASE_LOCKOUT, AUTH_ACCESS_TOKEN_LIFETIME).
 */
export const AuthSettings = z.object({
  /** The `iss` of access tokens. */
  issuer: z.string().min(1).default('plinth-reference'),
  /** The `aud` of access tokens. */
  audience: z.string().min(1).default('plinth-reference-api'),
  /** Seconds. */
  accessTokenLifetime: z.coerce.number().int().min(30).max(3_600).default(900),
  /** Emails that get the admin role when they register: how the first administrator appears. */
  adminEmails: list.default([]),
  /** Failed logins per account before the first lock. */
  accountFailures: z.coerce.number().int().min(1).max(100).default(5),
  /** The first lock, in milliseconds; it doubles with every further failure. */
  baseLockout: z.coerce.number().int().min(1).max(3_600_000).default(1_000),
})
