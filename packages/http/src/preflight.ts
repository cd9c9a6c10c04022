/**
 * The HTTP server's preflight checks, one set per server component: CORS that does not hand any
 * site the user's credentials, rate limits, TLS or a trusted proxy in production, HSTS, /docs and
 * error details off unless asked for, and limits and timeouts that agree with each other.
 */
import { Application, definePreflight, type App, type PreflightCheck, type PreflightContext, type PreflightOutcome } from '@plinth/core'
import type { FastifyCorsOptions } from '@fastify/cors'
import { httpServerOptions, type HttpServerOptions } from './server.js'

const pass = (found: string): PreflightOutcome => ({ status: 'pass', found })

async function resolved<T>(value: T | ((app: App) => T), context: PreflightContext): Promise<T> {
  return typeof value === 'function' ? (value as (app: App) => T)(await context.resolve(Application)) : value
}

function describeOrigin(origin: FastifyCorsOptions['origin']): string {
  if (origin === '*' || origin === true) return 'any origin'
  if (Array.isArray(origin)) return origin.map(String).join(', ')
  if (typeof origin === 'function') return 'decided per request by a function'
  return origin === undefined ? 'any origin (@fastify/cors default *)' : String(origin)
}

function checksFor(options: HttpServerOptions): PreflightCheck[] {
  const label = options.name && options.name !== 'http-server' ? ` (${options.name})` : ''
  const https = Boolean((options.fastify as { https?: unknown } | undefined)?.https)
  const trusted = options.trustProxy !== undefined && options.trustProxy !== false
  return [
    {
      category: 'security',
      name: `CORS${label}`,
      run: async (context) => {
        const cors = await resolved(options.cors ?? false, context)
        if (cors === false) return pass('off: browsers allow same-origin calls only')
        const origin = cors.origin
        const everyOrigin = origin === undefined || origin === '*' || origin === true || (Array.isArray(origin) && origin.includes('*'))
        if (everyOrigin && cors.credentials === true) {
          return { status: 'fail', found: `${describeOrigin(origin)} with credentials: any site can act as the signed-in user`, fix: "list the allowed origins (cors: { origin: ['https://app.example'], credentials: true })" }
        }
        if (everyOrigin && context.production) return { status: 'warn', found: `${describeOrigin(origin)} (no credentials)`, fix: 'list the origins that call this API, unless it is meant to be public' }
        return pass(`${describeOrigin(origin)}${cors.credentials ? ', with credentials' : ''}`)
      },
    },
    {
      category: 'security',
      name: `rate limits${label}`,
      run: async (context) => {
        const limit = await resolved(options.rateLimit ?? false, context)
        if (limit === false) {
          return context.production
            ? { status: 'warn', found: 'off', fix: 'set rateLimit: { max, timeWindow } (with trustProxy behind a load balancer, so that each client is counted apart)' }
            : pass('off (development)')
        }
        if (!trusted && context.production) return { status: 'warn', found: `max ${String(limit.max ?? 1000)} per ${String(limit.timeWindow ?? '1 minute')}, but no trustProxy`, fix: 'set trustProxy to the load balancer\'s address: otherwise every client counts as the proxy' }
        return pass(`max ${String(limit.max ?? 1000)} per ${String(limit.timeWindow ?? '1 minute')}`)
      },
    },
    {
      category: 'security',
      name: `TLS or trusted proxy${label}`,
      run: ({ production }) => {
        if (https) return pass('TLS terminated by the server')
        if (trusted) return pass(`behind a trusted proxy (trustProxy ${JSON.stringify(options.trustProxy)})`)
        return production
          ? { status: 'warn', found: 'plain HTTP and no trusted proxy', fix: 'terminate TLS at a load balancer and set trustProxy to its address (X-Forwarded-Proto then counts), or give fastify.https' }
          : pass('plain HTTP (development)')
      },
    },
    {
      category: 'security',
      name: `HSTS${label}`,
      run: ({ production }) => {
        const helmet = options.helmet
        const off = helmet === false || (typeof helmet === 'object' && helmet.hsts === false)
        if (off) return production ? { status: 'warn', found: 'Strict-Transport-Security disabled', fix: 'keep the default security headers (helmet), or enable hsts in yours' } : pass('disabled (development)')
        if (production && !https && !trusted) return { status: 'warn', found: 'configured, but never sent: no request is seen as HTTPS', fix: 'set trustProxy so that X-Forwarded-Proto: https counts' }
        return pass('max-age=31536000; includeSubDomains on HTTPS responses')
      },
    },
    {
      category: 'security',
      name: `docs and error details${label}`,
      run: ({ production }) => {
        if (!production) return pass('development: /docs and error details on')
        if (options.exposeErrors === true) return { status: 'fail', found: 'exposeErrors: stack traces in 500 responses', fix: 'remove exposeErrors in production' }
        if (options.docs && typeof options.docs === 'object') return pass(`/docs served on purpose at ${options.docs.path ?? '/docs'}`)
        return pass('/docs off, error details off')
      },
    },
    {
      category: 'performance',
      name: `HTTP limits and timeouts${label}`,
      run: () => {
        const body = options.bodyLimit ?? 1024 * 1024
        const keepAlive = options.keepAliveTimeout ?? 72_000
        const drain = options.drainTimeout ?? 10_000
        const problems: string[] = []
        if (body > 10 * 1024 * 1024) problems.push(`bodyLimit ${Math.round(body / 1024 / 1024)} MiB: every request may hold that much memory`)
        if (keepAlive <= 60_000) problems.push(`keepAliveTimeout ${keepAlive} ms at or below load balancers' 60 s idle timeout: they reuse connections the server has closed (502s)`)
        if (drain < 1_000) problems.push(`drainTimeout ${drain} ms: requests in flight are cut at shutdown`)
        const found = `bodyLimit ${Math.round(body / 1024)} KiB, keepAliveTimeout ${keepAlive} ms, drainTimeout ${drain} ms`
        return problems.length === 0 ? pass(found) : { status: 'warn', found: problems.join('; '), fix: 'keep bodyLimit to what routes need, keepAliveTimeout above 60 s, drainTimeout of a few seconds' }
      },
    },
  ]
}

definePreflight(({ providers }) => providers.flatMap((p) => (httpServerOptions.has(p) ? checksFor(httpServerOptions.get(p)!) : [])))
