import { isPlinthError, type PlinthError } from '@plinth/core'
import { describe, expect, it } from 'vitest'
import { parseDatabaseUrl, redactUrl, resolveDatabaseSettings, siblingDatabaseUrl, type OptionsContext } from '../src/index.js'

const context = (env: NodeJS.ProcessEnv = {}, appEnv = 'production'): OptionsContext => ({ config: undefined, appEnv, env, appName: 'svc', cwd: '/srv/app' })

describe('database URLs', () => {
  it('redacts the password and secret parameters, even in a URL it cannot parse', () => {
    expect(redactUrl('postgres://app:s3cret@db:5432/app')).toBe('postgres://app:***@db:5432/app')
    expect(redactUrl('postgres://app:p%40ss@db/app?sslmode=require&password=x&sslpassword=y')).toBe('postgres://app:***@db/app?sslmode=require&password=***&sslpassword=***')
    expect(redactUrl('postgres://app:s3cret@db:99999/app')).toBe('postgres://app:***@db:99999/app')
    expect(redactUrl('postgres://app@db/app')).toBe('postgres://app@db/app')
  })

  it('reads SQLite paths and PostgreSQL URLs', () => {
    expect(parseDatabaseUrl('sqlite:data/app.sqlite', '/srv')).toMatchObject({ dialect: 'sqlite', file: '/srv/data/app.sqlite' })
    expect(parseDatabaseUrl('sqlite:///var/lib/app.sqlite')).toMatchObject({ dialect: 'sqlite', file: '/var/lib/app.sqlite' })
    expect(parseDatabaseUrl(':memory:')).toMatchObject({ dialect: 'sqlite', file: ':memory:' })
    expect(parseDatabaseUrl('postgresql://app:pw@db.internal/orders')).toMatchObject({ dialect: 'postgres', host: 'db.internal', port: 5432, database: 'orders', user: 'app', secrets: ['pw'] })
  })

  it('names what is wrong with a URL and never shows its password', () => {
    const cases: Array<[string, RegExp]> = [
      ['mysql://app:hunter2@db/app', /uses the scheme "mysql:"; Plinth supports postgres:/],
      ['db.internal:5432', /uses the scheme "db.internal:"/],
      ['postgres://app:hunter2@db:99999/app', /is not a valid URL/],
      ['postgres://app:hunter2@db:5432', /names no database/],
      ['', /is empty/],
    ]
    for (const [url, message] of cases) {
      const error = (() => {
        try {
          parseDatabaseUrl(url)
        } catch (e) {
          return e as PlinthError
        }
      })()
      expect(isPlinthError(error, 'PLINTH_ERR_DB_INVALID_URL'), url).toBe(true)
      expect(error!.message).toMatch(message)
      expect(error!.describe()).not.toContain('hunter2')
    }
  })

  it('finds a named database beside the configured one', () => {
    expect(siblingDatabaseUrl('postgres://app:pw@db/app', 'telemetry', '/data')).toBe('postgres://app:pw@db/telemetry')
    expect(siblingDatabaseUrl(undefined, 'telemetry', '/data')).toBe('sqlite:/data/telemetry.sqlite')
  })
})

describe('database settings', () => {
  it('default to SQLite in the data directory, no migrations outside development, required', () => {
    const settings = resolveDatabaseSettings({}, context({}, 'production'), 'database')
    expect(settings.location).toMatchObject({ dialect: 'sqlite', file: '/srv/app/data/app.sqlite' })
    expect(settings).toMatchObject({ migrate: false, optional: false, pool: { max: 10, min: 0 }, applicationName: 'svc' })
    expect(resolveDatabaseSettings({}, context({}, 'development'), 'database').migrate).toBe(true)
  })

  it('come from the environment: DATABASE_URL, DATA_DIR, SKIP_DB_INIT, DATABASE_MIGRATE, pool sizes', () => {
    const settings = resolveDatabaseSettings(
      {},
      context({ DATABASE_URL: 'postgres://app:pw@db/app', SKIP_DB_INIT: 'true', DATABASE_MIGRATE: '1', DATABASE_POOL_MAX: '25', DATABASE_POOL_MIN: '2' }),
      'database',
    )
    expect(settings).toMatchObject({ location: { dialect: 'postgres', database: 'app' }, optional: true, migrate: true, pool: { max: 25, min: 2 } })
    expect(resolveDatabaseSettings({ name: 'telemetry' }, context({ DATA_DIR: '/var/data' }), 'telemetry-db').location).toMatchObject({ file: '/var/data/telemetry.sqlite' })
  })

  it('prefer the code to the environment, and the app configuration through a function', () => {
    const settings = resolveDatabaseSettings(({ config }) => ({ url: (config as { url: string }).url, optional: false }), { ...context({ SKIP_DB_INIT: 'yes' }), config: { url: 'sqlite::memory:' } }, 'database')
    expect(settings).toMatchObject({ location: { file: ':memory:' }, optional: false })
  })

  it('list every invalid setting at once', () => {
    expect(() => resolveDatabaseSettings({ pool: { max: 0, min: 3 }, connectTimeout: -1 }, context(), 'database')).toThrow(
      /pool\.max must be a number of at least 1; got 0\n {2}- pool\.min \(3\) must not exceed pool\.max \(0\)\n {2}- connectTimeout must be a number of at least 1; got -1/,
    )
    expect(() => resolveDatabaseSettings({}, context({ SKIP_DB_INIT: 'maybe' }), 'database')).toThrow(/SKIP_DB_INIT="maybe" is not a yes\/no value/)
  })
})
