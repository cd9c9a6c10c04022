/**
 * The catalogue of @plinth/auth: every error a caller of the package can meet, with what to do
 * next. The status is how REST answers (and how gRPC, WebSocket and GraphQL map it).
 */
import { defineErrors } from '@plinth/core'

/**
 * The catalogue.
 *
 * @example
 * if (authErrors.is(error, 'PLINTH_ERR_AUTH_LOCKED')) reply.header('retry-after', String(error.details?.retryAfter))
 */
export const authErrors = defineErrors('@plinth/auth', {
  PLINTH_ERR_AUTH_WEAK_PASSWORD: {
    title: 'Password rejected by the password policy',
    hint: 'Choose a longer password that is not on the list of common passwords; a passphrase of several words works well.',
    status: 422,
  },
  PLINTH_ERR_AUTH_INVALID_OPTIONS: {
    title: 'Invalid auth options',
    hint: 'Fix the options named in the message; each says the range it accepts.',
  },
  PLINTH_ERR_AUTH_INVALID_CREDENTIALS: {
    title: 'Invalid credentials',
    hint: 'Check the email and password. After repeated failures logins are refused for a while (see Retry-After).',
    status: 401,
  },
  PLINTH_ERR_AUTH_LOCKED: {
    title: 'Too many failed logins',
    hint: 'Wait for the time given in Retry-After, then try again.',
    status: 429,
  },
  PLINTH_ERR_AUTH_EMAIL_TAKEN: {
    title: 'Email already registered',
    hint: 'Log in with this email, or register with another one.',
    status: 409,
  },
  PLINTH_ERR_AUTH_INVALID_INPUT: {
    title: 'Invalid input',
    hint: 'Send an email address and a password as strings.',
    status: 400,
  },
  PLINTH_ERR_AUTH_UNAUTHENTICATED: {
    title: 'Authentication required',
    hint: 'Send a valid access token: `Authorization: Bearer <token>` (REST, GraphQL), `authorization` metadata (gRPC), or the `auth.authenticate` message (WebSocket). Log in or refresh to get one.',
    status: 401,
  },
  PLINTH_ERR_AUTH_FORBIDDEN: {
    title: 'Permission denied',
    hint: 'The authenticated principal lacks the permission named in the message; ask an administrator for a role that grants it.',
    status: 403,
  },
  PLINTH_ERR_AUTH_INVALID_REFRESH_TOKEN: {
    title: 'Invalid refresh token',
    hint: 'Log in again to get a new refresh token.',
    status: 401,
  },
  PLINTH_ERR_AUTH_UNKNOWN_ROLE: {
    title: 'Unknown role',
    hint: 'Use one of the roles the application declares, or declare this one with defineRoles.',
    status: 400,
  },
  PLINTH_ERR_AUTH_UNKNOWN_USER: {
    title: 'Unknown user',
    hint: 'Check the user id; list users with the store.',
    status: 404,
  },
})

export type AuthErrorCode = keyof typeof authErrors.entries
