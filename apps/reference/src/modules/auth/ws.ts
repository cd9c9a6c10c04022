import { AuthGuard } from '@plinth/auth'
import { provide } from '@plinth/core'
import { WsHandlers, wsHandler } from '@plinth/ws'
import { z } from 'zod'

/**
 * `{ "type": "auth.authenticate", "id": 1, "data": { "token": "<access token>" } }`: the
 * connection acts for the token's user from then on; guarded message types check it again on
 * every message.
 */
export const wsAuthenticate = provide(WsHandlers, {
  deps: { guard: AuthGuard },
  create: ({ guard }) =>
    wsHandler('auth.authenticate', {
      schema: z.object({ token: z.string().min(1).max(4_096) }),
      handle: async ({ token }, context) => {
        const principal = await guard.authenticateConnection(token, context)
        return { userId: principal.userId, roles: principal.roles, expiresAt: new Date(principal.expiresAt).toISOString() }
      },
    }),
})
