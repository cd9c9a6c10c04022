import { auth, type AuthComponentOptions } from '@plinth/auth'
import type { Settings } from '../../config.js'
import { roles } from './roles.js'

/**
 * Auth as the service uses it: users, sessions and audit events in the app's database; EdDSA
 * access tokens (keys from AUTH_SIGNING_KEYS, or generated at start); argon2id with OWASP's
 * parameters; brute-force counters and the deny list in memory, or in Redis with REDIS_URL
 * (shared-state.ts).
 */
export const authParts = auth(({ config }): AuthComponentOptions => {
  const settings = (config as Settings).auth
  return {
    roles,
    defaultRoles: ['user'],
    issuer: settings.issuer,
    audience: settings.audience,
    accessTokenLifetime: settings.accessTokenLifetime,
    throttle: { accountFailures: settings.accountFailures, baseLockout: settings.baseLockout },
    realm: 'plinth-reference',
    ...(settings.signingKeys ? { signingKeys: settings.signingKeys } : {}),
  }
})
