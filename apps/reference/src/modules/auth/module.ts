import { defineModule } from '@plinth/core'
import { authAttempts, authRedis, authRevocations } from './shared-state.js'
import { authParts } from './components.js'
import { authRoutes, jwksRoute } from './rest.js'
import { wsAuthenticate } from './ws.js'

/**
 * Authentication (design document 002): accounts with argon2id passwords, short-lived EdDSA
 * access tokens and rotating refresh tokens, logout and logout everywhere, roles, brute-force
 * protection, and the JWKS document. Other modules guard their writes with `AuthGuard`.
 */
export default defineModule({
  id: 'auth',
  version: '1.0.0',
  // Other modules' guards depend on it: without it the service would have no way to authorise writes.
  required: true,
  components: [authRedis, authAttempts, authRevocations, ...authParts, authRoutes, jwksRoute, wsAuthenticate],
})
