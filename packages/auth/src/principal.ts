/**
 * Who a request acts for, once its access token is verified, and the request-scoped slot that
 * hands it to handlers.
 */
import { token } from '@plinth/core'
import { authErrors } from './errors.js'

/** The authenticated caller of a request. */
export interface Principal {
  /** The user's id (the token's `sub`). */
  readonly userId: string
  readonly roles: readonly string[]
  /** Every permission the roles grant, wildcards included as declared. */
  readonly permissions: ReadonlySet<string>
  /** The access token's id (`jti`): what logout of this token denies. */
  readonly tokenId: string
  /** The session (refresh-token family) the token was issued in (`sid`). */
  readonly sessionId: string
  /** When the access token expires (epoch ms). */
  readonly expiresAt: number
}

/**
 * The principal of the current request: set by a guard, read by handlers. One per request scope,
 * so concurrent requests never see each other's.
 *
 * @example
 * component('profile', {
 *   deps: { current: accessor(CurrentPrincipal) },
 *   create: ({ current }) => ({ mine: () => current().require().userId }),
 * })
 */
export class PrincipalSlot {
  #principal: Principal | undefined

  /** The principal, or undefined when the request is anonymous. */
  get principal(): Principal | undefined {
    return this.#principal
  }

  /** The principal; throws PLINTH_ERR_AUTH_UNAUTHENTICATED (401) when the request is anonymous. */
  require(): Principal {
    if (this.#principal === undefined) throw authErrors.create('PLINTH_ERR_AUTH_UNAUTHENTICATED', 'this request carries no verified access token')
    return this.#principal
  }

  /** Set by a guard once the token is verified. */
  set(principal: Principal): void {
    this.#principal = principal
  }
}

/**
 * The request-scoped slot holding the principal. The auth component provides it (scoped to
 * 'request'); guards fill it.
 *
 * @example
 * provide(Routes, {
 *   deps: { guard: AuthGuard, principal: accessor(CurrentPrincipal) },
 *   create: ({ guard, principal }) => (http) => http.get('/me', { preValidation: guard.rest() }, () => principal().require()),
 * })
 */
export const CurrentPrincipal = token('auth-current-principal').of<PrincipalSlot>()
