import type { LoadedConfig } from '../config/config.js'
import type { Logger } from '../logging/logger.js'
import type { LoggingOptions } from '../logging/logging.js'
import type { AppOptions } from './options.js'

/** What `createApp({ logging })` accepts: a logger, options, or options made from the configuration. */
export type GivenLogging = AppOptions<readonly never[], readonly never[]>['logging']

export function isLogger(value: GivenLogging): value is Logger {
  return typeof (value as { child?: unknown } | undefined)?.child === 'function'
}

/** The app's own logging options, a function of the configuration evaluated once there is one. */
export function givenLogging(given: GivenLogging, config: LoadedConfig<unknown> | undefined): LoggingOptions | undefined {
  if (isLogger(given)) return undefined
  return typeof given === 'function' ? (config ? given(config.value) : undefined) : given
}

/**
 * The options an app's logger is made with: LOG_LEVEL (from the environment, else `.env`) over
 * the level a command asks for, readable lines at a development terminal and JSON elsewhere, the
 * app's options, what the command line changes (`useLogging`), and the configuration's secrets
 * redacted by path and masked by value whatever the options add.
 */
export function appLoggerOptions(name: string, given: GivenLogging, override: LoggingOptions | undefined, env: NodeJS.ProcessEnv, config: LoadedConfig<unknown> | undefined): LoggingOptions {
  const appEnv = config?.appEnv ?? env.APP_ENV ?? 'development'
  const { level: defaultLevel, ...overrides } = override ?? {}
  const stream = overrides.stderr ? process.stderr : process.stdout
  const settings: LoggingOptions = {
    name,
    level: env.LOG_LEVEL ?? config?.dotenv?.LOG_LEVEL ?? defaultLevel ?? 'info',
    pretty: appEnv === 'development' && Boolean(stream.isTTY),
    ...givenLogging(given, config),
    ...overrides,
  }
  return {
    ...settings,
    redact: [...(config?.redactionPaths ?? []), ...(settings.redact ?? [])],
    secrets: [...(config?.secretValues ?? []), ...(settings.secrets ?? [])],
  }
}
