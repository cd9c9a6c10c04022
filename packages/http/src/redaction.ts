import type { App } from '@plinth/core'
import type { FastifyInstance, onSendHookHandler } from 'fastify'

/** Routes whose answers quote what the app has seen: a health check's last error, boot events. */
const reportRoutes = new Set(['/health', '/health/ready', '/info', '/boot'])

/**
 * Masks the configuration's secret values (`app.redact`) in what the server sends where they can
 * leak: error responses (a problem's detail quoting an upstream's message), the health report
 * and readiness (where a check's last error may echo an API key), /info and /boot. Installed only
 * when the configuration has secrets; other responses then pay one comparison.
 *
 * @example
 * installRedaction(fastify, app)
 */
export function installRedaction(http: FastifyInstance, app: App): void {
  if ((app.config?.secretValues.length ?? 0) === 0) return
  const redact: onSendHookHandler = (request, reply, payload, done) => {
    const quoting = reply.statusCode >= 400 || reportRoutes.has(request.routeOptions.url ?? '')
    done(null, typeof payload === 'string' && quoting ? app.redact(payload) : payload)
  }
  http.addHook('onSend', redact)
}
