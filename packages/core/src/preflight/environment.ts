/**
 * Core's checks of the environment (APP_ENV, required variables, development defaults left in
 * production) and of monitoring (log level, JSON logs, a metrics endpoint, no secret in the
 * printed configuration).
 */
import type { AnyProvider } from '../container/provider.js'
import type { PreflightCheck, PreflightOutcome } from './check.js'
import { Metrics } from '../app/kernel-tokens.js'
import { metricsEndpointOf } from '../metrics/endpoints.js'
import { scrapeEndpoints } from './metrics-scrape.js'

/** What core's checks read of the app, besides the context every check gets. */
export interface CoreCheckSettings {
  readonly providers: readonly AnyProvider[]
  /** The environments the app knows. */
  readonly environments: readonly string[]
  /** Environment variables that must be set (and not empty) where the app runs. */
  readonly requiredEnv: readonly string[]
  /** The logger's level and whether it prints pretty lines instead of JSON. */
  readonly logging: { readonly level: string; readonly pretty: boolean }
  /** The configuration as printed (secrets redacted), when the app has one. */
  readonly printedConfig: unknown
  /** Why the configuration did not load, when it did not. */
  readonly configProblem: string | undefined
}

const pass = (found: string): PreflightOutcome => ({ status: 'pass', found })

/** Values people leave in place of the real thing. */
export const PLACEHOLDERS = /^(changeme|change[-_ ]?me|placeholder|secret|password|passw0rd|test|dev|development|example|todo|xxx+|none|null|undefined|default|admin|1234(5678)?|letmein|your[-_].*|<.*>|\$\{.*\})$/i

/**
 * Whether a value is a known placeholder instead of a real secret: empty, `changeme`,
 * `secret`, `<your-key>`, `\${VAR}` and the like.
 *
 * @example
 * isPlaceholder('changeme') // true
 * isPlaceholder('k8Jq2mZx9vLw') // false
 */
export function isPlaceholder(value: string): boolean {
  return value.trim() === '' || PLACEHOLDERS.test(value.trim())
}

export function environmentChecks(settings: CoreCheckSettings): PreflightCheck[] {
  return [
    {
      category: 'environment',
      name: 'APP_ENV is known',
      run: ({ appEnv }) =>
        settings.environments.includes(appEnv)
          ? pass(`APP_ENV=${appEnv}`)
          : { status: 'fail', found: `APP_ENV=${appEnv} is not one of ${settings.environments.join(', ')}`, fix: `set APP_ENV to one of ${settings.environments.join(', ')}` },
    },
    {
      category: 'environment',
      name: 'configuration loads',
      run: () =>
        settings.configProblem === undefined
          ? pass('configuration valid')
          : { status: 'fail', found: settings.configProblem, fix: 'run `plinth check` for every problem, then set the keys it lists' },
    },
    {
      category: 'environment',
      name: 'required variables set',
      run: ({ env }) => {
        const missing = settings.requiredEnv.filter((name) => !env[name])
        if (missing.length > 0) return { status: 'fail', found: `not set: ${missing.join(', ')}`, fix: `set ${missing.join(', ')} in the service's environment` }
        return pass(settings.requiredEnv.length === 0 ? 'none declared' : `${settings.requiredEnv.length} set`)
      },
    },
    {
      category: 'environment',
      name: 'no development defaults',
      run: ({ env, production }) => {
        if (!production) return pass('not production: development defaults allowed')
        const found: string[] = []
        if (env.NODE_ENV !== 'production') found.push(`NODE_ENV=${env.NODE_ENV ?? '(unset)'}`)
        if (!env.DATA_DIR) found.push('DATA_DIR unset (./data relative to the working directory)')
        if (found.length === 0) return pass('NODE_ENV=production, DATA_DIR set')
        return { status: 'warn', found: found.join('; '), fix: 'set NODE_ENV=production (libraries drop their development paths) and DATA_DIR to an absolute path on a persistent volume' }
      },
    },
  ]
}

// A credential in a URL, a bearer token, a PEM key, or a long random-looking string.
const credentialInUrl = /\/\/[^/\s:@]+:([^@\s/]+)@/
const pemKey = /-----BEGIN [A-Z ]*PRIVATE KEY-----/
const jwtLike = /^eyJ[\w-]+\.[\w-]+\.[\w-]+$/

function leaks(value: unknown, path: string, out: string[]): void {
  if (typeof value === 'string') {
    const password = credentialInUrl.exec(value)?.[1]
    if ((password !== undefined && password !== '***' && password !== '[redacted]') || pemKey.test(value) || jwtLike.test(value)) out.push(path || '(root)')
    return
  }
  if (Array.isArray(value)) value.forEach((item, index) => leaks(item, `${path}[${index}]`, out))
  else if (value && typeof value === 'object') for (const [key, child] of Object.entries(value)) leaks(child, path ? `${path}.${key}` : key, out)
}

const levels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']

export function monitoringChecks(settings: CoreCheckSettings): PreflightCheck[] {
  return [
    {
      category: 'monitoring',
      name: 'log level',
      run: ({ production }) => {
        const { level } = settings.logging
        if (!levels.includes(level)) return { status: 'fail', found: `LOG_LEVEL=${level} is not a level`, fix: `set LOG_LEVEL to one of ${levels.join(', ')}` }
        if (production && (level === 'debug' || level === 'trace')) return { status: 'warn', found: `${level} in production`, fix: 'set LOG_LEVEL=info: debug lines cost throughput and may carry request data' }
        if (level === 'silent' || level === 'fatal') return { status: 'warn', found: `${level}: errors are not logged`, fix: 'set LOG_LEVEL=info (or warn)' }
        return pass(level)
      },
    },
    {
      category: 'monitoring',
      name: 'JSON logs',
      run: ({ production }) => {
        if (!settings.logging.pretty) return pass('JSON lines')
        return production
          ? { status: 'fail', found: 'pretty lines in production', fix: 'remove logging.pretty: collectors parse JSON lines' }
          : pass('pretty lines (development)')
      },
    },
    {
      category: 'monitoring',
      name: 'metrics endpoint',
      run: async (context) => {
        const served = settings.providers.map(metricsEndpointOf).filter((where) => where !== undefined)
        if (served.length === 0) {
          return { status: context.production ? 'warn' : 'pass', found: 'nothing serves the metrics', fix: 'add metricsServer() to the components, or httpServer({ metrics: true }) for GET /metrics on the HTTP server, so that Prometheus can scrape them' }
        }
        return scrapeEndpoints(served, context, () => context.resolve(Metrics))
      },
    },
    {
      category: 'monitoring',
      name: 'no secret in printed config',
      run: () => {
        const found: string[] = []
        leaks(settings.printedConfig, '', found)
        if (found.length === 0) return pass(settings.printedConfig === undefined ? 'no configuration' : 'every secret redacted')
        return { status: 'fail', found: `secret-looking values printed in clear: ${found.join(', ')}`, fix: 'list these keys in defineConfig({ secrets: [...] }) so that logs and the printed configuration mask them' }
      },
    },
  ]
}
