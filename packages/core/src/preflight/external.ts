/**
 * External services: each configured URL must resolve and answer its health endpoint. The check
 * resolves the name itself first, so that a name that does not resolve is reported as that
 * (ENOTFOUND), apart from a service that is down or hangs.
 */
import { lookup } from 'node:dns/promises'
import { isIP } from 'node:net'
import { preflightCheck } from './check.js'

export interface ExternalServiceOptions {
  /** A name for the table: `payments`. */
  name: string
  /** The service's base URL; a function reads it from the environment or configuration at run time. */
  url: string | ((context: { env: NodeJS.ProcessEnv; config: unknown }) => string | undefined)
  /** The health path, resolved against the URL. Default `/health`. */
  health?: string
  /** Which statuses count as healthy. Default 2xx; an API without a health endpoint may take `(status) => status < 500`. */
  healthy?: (status: number) => boolean
  /** A missing URL is a failure (default) or a pass (the service is optional). */
  required?: boolean
  /** Deadline of the check in milliseconds. */
  timeout?: number
}

/**
 * A preflight check that an external service resolves and answers its health endpoint with a
 * 2xx status.
 *
 * @example
 * createApp({
 *   name: 'shop',
 *   components: [externalService({ name: 'payments', url: ({ env }) => env.PAYMENTS_URL, health: '/healthz' })],
 * })
 */
export function externalService(options: ExternalServiceOptions) {
  return preflightCheck({
    category: 'external',
    name: `${options.name} answers`,
    ...(options.timeout === undefined ? {} : { timeout: options.timeout }),
    run: async (_deps, { env, config, signal }) => {
      const url = typeof options.url === 'function' ? options.url({ env, config }) : options.url
      if (!url) {
        return options.required === false
          ? { status: 'pass', found: 'not configured (optional)' }
          : { status: 'fail', found: 'no URL configured', fix: `set the URL of ${options.name}` }
      }
      let target: URL
      try {
        target = new URL(options.health ?? '/health', url)
      } catch {
        return { status: 'fail', found: `"${url}" is not a URL`, fix: `set the URL of ${options.name} to http(s)://host[:port]` }
      }
      const host = target.hostname.replace(/^\[|\]$/g, '')
      if (!isIP(host)) {
        try {
          await lookup(host)
        } catch (error) {
          const code = (error as { code?: string }).code ?? 'lookup failed'
          return { status: 'fail', found: `${host} does not resolve (${code})`, fix: `correct the host name of ${options.name}'s URL, or the DNS it is published in` }
        }
      }
      let response: Response
      try {
        response = await fetch(target, { signal, redirect: 'manual' })
      } catch (error) {
        const cause = (error as { cause?: { code?: string; message?: string } }).cause
        return { status: 'fail', found: `${target.origin}: ${cause?.code ?? cause?.message ?? (error as Error).message}`, fix: `start ${options.name}, or correct its URL and port` }
      }
      await response.body?.cancel()
      if ((options.healthy ?? ((status: number) => status >= 200 && status < 300))(response.status)) return { status: 'pass', found: `${target.href} answered ${response.status}` }
      return { status: 'fail', found: `${target.href} answered ${response.status}`, fix: `${options.name} is up but not healthy: read its own health report` }
    },
  })
}
