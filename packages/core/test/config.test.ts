import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { Writable } from 'node:stream'
import * as v from 'valibot'
import { afterAll, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { CONFIG_EXIT_CODE, defineConfig, isSecretPath, loadConfig, redactionPaths, type ConfigIssue } from '../src/config/config.js'
import { PlinthError } from '../src/errors.js'
import { createLogger } from '../src/logging/logging.js'

const dirs: string[] = []
afterAll(async () => {
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })))
})

/** A fresh working directory holding the given files. */
async function project(files: Record<string, string> = {}): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'plinth-config-'))
  dirs.push(dir)
  for (const [name, text] of Object.entries(files)) {
    await mkdir(dirname(join(dir, name)), { recursive: true })
    await writeFile(join(dir, name), text)
  }
  return dir
}

async function configError(promise: Promise<unknown>): Promise<PlinthError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(error).toBeInstanceOf(PlinthError)
  expect((error as PlinthError).code).toBe('PLINTH_ERR_INVALID_CONFIG')
  return error as PlinthError
}

const zodSchema = z.object({
  http: z.object({ host: z.string(), port: z.number().int().min(1).max(65535) }),
  database: z.object({ url: z.string().min(1), password: z.string().min(8), maxConnections: z.number().int().positive() }),
  debug: z.boolean(),
  ai: z.object({ apiKey: z.string().optional(), model: z.string().optional() }).optional(),
  limits: z.object({ rps: z.number().optional() }).optional(),
  cache: z.object({ ttlSeconds: z.number() }).optional(),
  smtp: z.object({ host: z.string(), password: z.string() }).optional(),
  region: z.string().default('eu-west-1'),
})

const defaults = {
  http: { host: '127.0.0.1', port: 8000 },
  database: { url: 'sqlite:./data/app.db', password: 'default-password', maxConnections: 5 },
  debug: false,
}

const AppConfig = defineConfig({ schema: zodSchema, defaults, env: { DB: 'database.url' }, secrets: ['database.password'] })

describe('sources and their precedence', () => {
  it('takes defaults when nothing else is set, and says so for every key', async () => {
    const config = await loadConfig(AppConfig, { cwd: await project(), env: {} })
    expect(config.value.http).toEqual({ host: '127.0.0.1', port: 8000 })
    expect(config.appEnv).toBe('development')
    expect(config.sources.get('http.port')).toBe('default')
    expect(config.sources.get('region')).toBe('schema default')
    expect(config.files).toEqual([])
  })

  it('lets each source override the one before: defaults < config file < .env < env < CLI flags', async () => {
    const cwd = await project({ 'config/development.yaml': 'http:\n  port: 8001\n  host: 0.0.0.0\n', '.env': 'HTTP_PORT=8002\n' })
    const steps = [
      { env: {}, argv: [], port: 8001, source: 'config/development.yaml' },
      { env: {}, argv: [], port: 8002, source: '.env HTTP_PORT', dotenv: true },
      { env: { HTTP_PORT: '8003' }, argv: [], port: 8003, source: 'env HTTP_PORT' },
      { env: { HTTP_PORT: '8003' }, argv: ['--http.port=8004'], port: 8004, source: '--http.port' },
    ]
    const withoutDotEnv = await project({ 'config/development.yaml': 'http:\n  port: 8001\n  host: 0.0.0.0\n' })
    const defaultsOnly = await loadConfig(AppConfig, { cwd: await project(), env: {} })
    expect([defaultsOnly.value.http.port, defaultsOnly.sources.get('http.port')]).toEqual([8000, 'default'])
    for (const step of steps) {
      const config = await loadConfig(AppConfig, { cwd: step.dotenv || step.env.HTTP_PORT ? cwd : withoutDotEnv, env: step.env, argv: step.argv })
      expect([config.value.http.port, config.sources.get('http.port')]).toEqual([step.port, step.source])
      // Merging is per key: the file's host survives every override of the port.
      expect([config.value.http.host, config.sources.get('http.host')]).toEqual(['0.0.0.0', 'config/development.yaml'])
    }
  })

  it('reads config/<APP_ENV>.yaml or .json chosen by the appEnv option, then APP_ENV, then .env', async () => {
    const cwd = await project({
      'config/production.yaml': 'http:\n  port: 9001\n',
      'config/staging.json': '{ "http": { "port": 9002 } }',
      'config/development.yml': 'http:\n  port: 9003\n',
      '.env': 'APP_ENV=staging\n',
    })
    const fromEnv = await loadConfig(AppConfig, { cwd, env: { APP_ENV: 'production' } })
    expect([fromEnv.appEnv, fromEnv.value.http.port, fromEnv.sources.get('http.port')]).toEqual(['production', 9001, 'config/production.yaml'])
    expect(fromEnv.files).toEqual([join(cwd, 'config/production.yaml'), join(cwd, '.env')])
    const fromDotEnv = await loadConfig(AppConfig, { cwd, env: {} })
    expect([fromDotEnv.appEnv, fromDotEnv.value.http.port, fromDotEnv.sources.get('http.port')]).toEqual(['staging', 9002, 'config/staging.json'])
    const fromOption = await loadConfig(AppConfig, { cwd, env: { APP_ENV: 'production' }, appEnv: 'development' })
    expect([fromOption.appEnv, fromOption.value.http.port]).toEqual(['development', 9003])
  })

  it('refuses an unknown APP_ENV, naming where it came from', async () => {
    const error = await configError(loadConfig(AppConfig, { cwd: await project(), env: { APP_ENV: 'prod' } }))
    expect(error.message).toContain('APP_ENV "prod" (from env APP_ENV)')
    expect(error.message).toContain('development, staging, production')
    expect(error.details.issues).toEqual([{ path: 'APP_ENV', source: 'env APP_ENV', received: 'prod', message: 'expected one of development, staging, production' }])
  })

  it('refuses two files for one environment instead of guessing which applies', async () => {
    const cwd = await project({ 'config/production.json': '{}', 'config/production.yaml': 'debug: true\n' })
    const error = await configError(loadConfig(AppConfig, { cwd, env: { APP_ENV: 'production' } }))
    expect(error.message).toContain('config/production.json and config/production.yaml both exist')
  })

  it('never lets .env override a real environment variable', async () => {
    const cwd = await project({ '.env': 'DB=postgres://from-dotenv/app\nDEBUG=true\n' })
    const config = await loadConfig(AppConfig, { cwd, env: { DB: 'postgres://from-env/app' } })
    expect([config.value.database.url, config.sources.get('database.url')]).toEqual(['postgres://from-env/app', 'env DB'])
    // A .env value nobody overrides still applies.
    expect([config.value.debug, config.sources.get('debug')]).toEqual([true, '.env DEBUG'])
  })

  it('reads CLI flags as --key=value, --key value, and a bare --flag as true, stopping at --', async () => {
    const config = await loadConfig(AppConfig, {
      cwd: await project(),
      env: {},
      argv: ['start', '--http.port', '8005', '--http.host=::1', '--debug', '--', '--database.url=ignored'],
    })
    expect(config.value.http).toEqual({ host: '::1', port: 8005 })
    expect(config.value.debug).toBe(true)
    expect(config.value.database.url).toBe('sqlite:./data/app.db')
    expect(config.sources.get('http.host')).toBe('--http.host')
  })

  it('writes nothing to disk, whether loading succeeds or fails', async () => {
    const cwd = await project({ 'config/development.yaml': 'http:\n  port: 8001\n', '.env': 'DEBUG=true\n' })
    const before = await readdir(cwd, { recursive: true })
    await loadConfig(AppConfig, { cwd, env: {} })
    await loadConfig(AppConfig, { cwd, env: { HTTP_PORT: 'nope' } }).catch(() => undefined)
    expect(await readdir(cwd, { recursive: true })).toEqual(before)
  })
})

describe('environment variable mapping', () => {
  it('maps every key path of the defaults to its SNAKE_UPPER name and converts to the default type', async () => {
    const config = await loadConfig(AppConfig, { cwd: await project(), env: { DATABASE_MAX_CONNECTIONS: '20', DEBUG: 'yes', HTTP_HOST: '10.0.0.1' } })
    expect(config.value.database.maxConnections).toBe(20)
    expect(config.value.debug).toBe(true)
    expect(config.value.http.host).toBe('10.0.0.1')
    expect(config.sources.get('database.maxConnections')).toBe('env DATABASE_MAX_CONNECTIONS')
  })

  it('maps key paths that only a config file has, typed by the file value', async () => {
    const cwd = await project({ 'config/development.yaml': 'cache:\n  ttlSeconds: 60\n' })
    const config = await loadConfig(AppConfig, { cwd, env: { CACHE_TTL_SECONDS: '120' } })
    expect(config.value.cache).toEqual({ ttlSeconds: 120 })
  })

  it('maps key paths that only the schema knows, through its Standard JSON Schema (zod 4)', async () => {
    const config = await loadConfig(AppConfig, { cwd: await project(), env: { LIMITS_RPS: '50', AI_MODEL: 'small' } })
    expect(config.value.limits).toEqual({ rps: 50 })
    expect(config.value.ai).toEqual({ model: 'small' })
  })

  it('reports a value that does not convert to the key type, with the variable that set it', async () => {
    const error = await configError(loadConfig(AppConfig, { cwd: await project(), env: { HTTP_PORT: 'eighty', DEBUG: 'maybe' } }))
    expect(error.details.issues).toEqual([
      { path: 'http.port', source: 'env HTTP_PORT', received: 'eighty', message: 'expected a number' },
      { path: 'debug', source: 'env DEBUG', received: 'maybe', message: 'expected a boolean (true/false, 1/0, yes/no, on/off)' },
    ])
  })
})

describe('validation', () => {
  const Strict = defineConfig({
    schema: z.object({
      http: z.object({ port: z.number().int().max(65535) }),
      database: z.object({ url: z.string().startsWith('postgres://'), password: z.string().min(32), maxConnections: z.number().positive() }),
      debug: z.boolean(),
    }),
    defaults: { http: { port: 8000 }, database: { maxConnections: 5 } },
    env: { DATABASE_URL: 'database.url' },
    secrets: ['database.password'],
  })

  it('reports every problem at once, each with its key path, the source that set it, the value and what was expected', async () => {
    const cwd = await project({ 'config/production.yaml': 'http:\n  port: 70000\n' })
    const error = await configError(
      loadConfig(Strict, {
        cwd,
        env: { APP_ENV: 'production', DATABASE_URL: 'mysql://db/app', DATABASE_MAX_CONNECTIONS: '-3', DATABASE_PASSWORD: 'hunter2-too-short' },
        argv: ['--debug=perhaps'],
      }),
    )
    const issues = error.details.issues as ConfigIssue[]
    expect(issues.map(({ path, source, received }) => ({ path, source, received }))).toEqual([
      { path: 'debug', source: '--debug', received: 'perhaps' },
      { path: 'http.port', source: 'config/production.yaml', received: 70000 },
      { path: 'database.url', source: 'env DATABASE_URL', received: 'mysql://db/app' },
      { path: 'database.password', source: 'env DATABASE_PASSWORD', received: '[redacted]' },
      { path: 'database.maxConnections', source: 'env DATABASE_MAX_CONNECTIONS', received: -3 },
    ])
    expect(issues[2]?.message).toMatch(/postgres:\/\//)
    expect(error.message).toContain('configuration for APP_ENV=production')
    expect(error.message).toContain('has 5 problems')
    expect(error.message).toContain('  - http.port = 70000 (config/production.yaml): ')
    expect(error.message).toContain('  - database.url = "mysql://db/app" (env DATABASE_URL): ')
    expect(error.message).toContain('  - database.maxConnections = -3 (env DATABASE_MAX_CONNECTIONS): ')
    expect(error.details.exitCode).toBe(CONFIG_EXIT_CODE)
    expect(CONFIG_EXIT_CODE).toBe(78)
  })

  it('names a key nobody set as missing', async () => {
    const error = await configError(loadConfig(Strict, { cwd: await project(), env: { DATABASE_URL: 'postgres://db/app', DEBUG: 'false' } }))
    expect(error.details.issues).toEqual([{ path: 'database.password', source: 'missing', received: undefined, message: expect.stringMatching(/expected string/), env: 'DATABASE_PASSWORD' }])
    expect(error.message).toContain('  - database.password (missing; set DATABASE_PASSWORD): ')
  })

  it('names the keys inside a section nobody set, each with the env var that sets it', async () => {
    const Sections = defineConfig({ schema: z.object({ database: z.object({ url: z.string(), pool: z.number().default(5) }), http: z.object({ port: z.number().default(8000) }) }) })
    const error = await configError(loadConfig(Sections, { cwd: await project(), env: {} }))
    expect(error.details.issues).toMatchObject([
      { path: 'database.url', source: 'missing', env: 'DATABASE_URL' },
      { path: 'http', source: 'missing', message: expect.stringMatching(/every key inside has a default/) },
    ])
    expect(error.message).toContain('  - database.url (missing; set DATABASE_URL): ')
  })

  it('keeps secret values out of the error message, even where the validator quotes them', async () => {
    const Keys = defineConfig({
      schema: v.object({ ai: v.object({ apiKey: v.pipe(v.string(), v.regex(/^sk-/)) }), database: v.object({ password: v.pipe(v.string(), v.minLength(32)) }) }),
      secrets: ['database.password'],
    })
    const error = await configError(loadConfig(Keys, { cwd: await project(), env: {}, argv: ['--ai.apiKey=pk-live-0123456789', '--database.password=hunter2-hunter2'] }))
    expect(error.message).not.toContain('pk-live-0123456789')
    expect(error.message).not.toContain('hunter2-hunter2')
    expect(JSON.stringify(error.details)).not.toContain('pk-live-0123456789')
    expect(error.message).toContain('  - ai.apiKey = [redacted] (--ai.apiKey): ')
    expect(error.message).toContain('  - database.password = [redacted] (--database.password): ')
  })

  it('redacts the secrets inside an object that an issue is about', async () => {
    const Pair = defineConfig({
      schema: z
        .object({ database: z.object({ user: z.string(), password: z.string() }).refine((db) => db.user !== 'root', 'must not connect as root') })
        .strict(),
    })
    const error = await configError(loadConfig(Pair, { cwd: await project(), env: {}, argv: ['--database.user=root', '--database.password=root-secret-value'] }))
    expect(error.details.issues).toEqual([
      { path: 'database', source: '--database.user, --database.password', received: { user: 'root', password: '[redacted]' }, message: 'must not connect as root' },
    ])
    expect(error.message).not.toContain('root-secret-value')
  })

  it('names the file, line and column of a malformed YAML file', async () => {
    const cwd = await project({ 'config/production.yaml': 'http:\n  port: 8000\n   host: x\n' })
    const error = await configError(loadConfig(AppConfig, { cwd, env: { APP_ENV: 'production' } }))
    expect(error.message).toMatch(/^config\/production\.yaml:2:\d+: malformed configuration file/)
    expect(error.details).toMatchObject({ file: 'config/production.yaml', line: 2 })
  })

  it('names the file and line of a malformed JSON file', async () => {
    const cwd = await project({ 'config/staging.json': '{\n  "http": {\n    "port": 8000,\n  }\n}\n' })
    const error = await configError(loadConfig(AppConfig, { cwd, env: { APP_ENV: 'staging' } }))
    expect(error.message).toMatch(/^config\/staging\.json:4:3: malformed configuration file/)
    expect(error.details).toMatchObject({ file: 'config/staging.json', line: 4, column: 3 })
  })

  it('finds the line of a JSON mistake for which V8 gives no position', async () => {
    const cwd = await project({ 'config/staging.json': '{\n  "http": {\n    "port": ,\n    "host": "x"\n  }\n}\n' })
    const error = await configError(loadConfig(AppConfig, { cwd, env: { APP_ENV: 'staging' } }))
    expect(error.message).toMatch(/^config\/staging\.json:3:13: malformed configuration file/)
    expect(error.details).toMatchObject({ path: join(cwd, 'config/staging.json'), line: 3, column: 13 })
  })
})

describe('secrets', () => {
  const cwdWithSecrets = () => project({ 'config/development.yaml': 'smtp:\n  host: mail\n  password: smtp-secret-value\nai:\n  apiKey: sk-ai-secret-value\n' })
  const env = { DATABASE_PASSWORD: 'db-secret-value' }

  it('are replaced in redacted(), while value keeps them', async () => {
    const config = await loadConfig(AppConfig, { cwd: await cwdWithSecrets(), env })
    expect(config.value.database.password).toBe('db-secret-value')
    expect(config.redacted()).toMatchObject({
      http: { host: '127.0.0.1', port: 8000 },
      database: { url: 'sqlite:./data/app.db', password: '[redacted]', maxConnections: 5 },
      smtp: { host: 'mail', password: '[redacted]' },
      ai: { apiKey: '[redacted]' },
    })
  })

  it('are recognised by listing and by name', () => {
    expect(isSecretPath(AppConfig, 'database.password')).toBe(true)
    expect(isSecretPath(AppConfig, 'ai.apiKey')).toBe(true)
    expect(isSecretPath(AppConfig, 'github.private_key')).toBe(true)
    expect(isSecretPath(AppConfig, 'http.port')).toBe(false)
    expect(redactionPaths(AppConfig)).toEqual(expect.arrayContaining(['database.password', '*.database.password', 'ai.apiKey', '*.ai.apiKey']))
    expect(redactionPaths(AppConfig)).not.toContain('http.port')
  })

  it('never appear in log output, however the configuration is logged', async () => {
    const config = await loadConfig(AppConfig, { cwd: await cwdWithSecrets(), env })
    let output = ''
    const destination = new Writable({
      write(chunk: Buffer, _encoding, done) {
        output += chunk.toString('utf8')
        done()
      },
    })
    const log = createLogger({ destination, redact: config.redactionPaths })
    log.info({ config: config.value }, 'configuration loaded')
    log.info(config.value, 'configuration loaded')
    log.info({ settings: config.value }, 'configuration loaded')
    expect(output.split('\n').filter(Boolean)).toHaveLength(3)
    expect(output).toContain('"host":"mail"')
    for (const secret of ['db-secret-value', 'smtp-secret-value', 'sk-ai-secret-value']) expect(output).not.toContain(secret)
  })

  it('stay out of logs under keys pino cannot name plainly, deep inside a file-only section', async () => {
    const Vendors = defineConfig({ schema: z.object({ vendors: z.record(z.string(), z.record(z.string(), z.string())) }) })
    const cwd = await project({ 'config/development.json': JSON.stringify({ vendors: { acme: { url: 'https://acme', 'x-api-key': 'acme-secret-value' } } }) })
    const config = await loadConfig(Vendors, { cwd, env: {} })
    expect(config.redactionPaths).toEqual(expect.arrayContaining(['vendors.acme["x-api-key"]', '*.vendors.acme["x-api-key"]']))
    let output = ''
    const destination = new Writable({
      write(chunk: Buffer, _encoding, done) {
        output += chunk.toString('utf8')
        done()
      },
    })
    createLogger({ destination, redact: config.redactionPaths }).info({ config: config.value })
    expect(output).toContain('"url":"https://acme"')
    expect(output).not.toContain('acme-secret-value')
  })
})

describe.each([
  [
    'zod',
    z.object({ http: z.object({ host: z.string(), port: z.number() }), workers: z.number().int().min(1), verbose: z.boolean() }),
  ],
  [
    'valibot',
    v.object({ http: v.object({ host: v.string(), port: v.number() }), workers: v.pipe(v.number(), v.integer(), v.minValue(1)), verbose: v.boolean() }),
  ],
])('with a %s schema', (_library, schema) => {
  const Config = defineConfig({ schema, defaults: { http: { host: 'localhost', port: 8000 }, workers: 2, verbose: false } })

  it('loads, converts env strings to the default types and infers the output type', async () => {
    const config = await loadConfig(Config, { cwd: await project(), env: { HTTP_PORT: '8001', VERBOSE: 'true' }, argv: ['--workers', '4'] })
    const port: number = config.value.http.port
    expect(port).toBe(8001)
    expect(config.value).toEqual({ http: { host: 'localhost', port: 8001 }, workers: 4, verbose: true })
  })

  it('reports every failing key with its source', async () => {
    const error = await configError(loadConfig(Config, { cwd: await project({ '.env': 'WORKERS=0\n' }), env: { HTTP_HOST: '' }, argv: ['--http.port=x'] }))
    expect((error.details.issues as ConfigIssue[]).map(({ path, source }) => `${path} <- ${source}`)).toEqual(['http.port <- --http.port', 'workers <- .env WORKERS'])
  })
})

describe('secret values', () => {
  const Settings = defineConfig({
    schema: z.object({ upstream: z.object({ baseUrl: z.url(), apiKey: z.string() }), database: z.object({ url: z.string() }) }),
    env: { UPSTREAM_URL: 'upstream.baseUrl', UPSTREAM_KEY: 'upstream.apiKey', DB: 'database.url' },
  })

  it('lists the values of secret keys and the credentials in the URLs of any setting', async () => {
    const config = await loadConfig(Settings, {
      cwd: await project(),
      env: { UPSTREAM_URL: 'https://api.example/v1?api_key=qs-secret-1&page=2', UPSTREAM_KEY: 'key-secret-2', DB: 'postgres://app:pw-secret-3@db:5432/app' },
    })
    expect([...config.secretValues].sort()).toEqual(['key-secret-2', 'pw-secret-3', 'qs-secret-1'])
    expect(JSON.stringify(config.redacted())).not.toMatch(/secret-/)
  })

  it('masks credentials in a URL setting that is not a secret when the exit-78 message prints it', async () => {
    const error = await configError(
      loadConfig(Settings, { cwd: await project(), env: { UPSTREAM_URL: 'https//user:pw-url-secret@api.example/v1?api_key=sk-url-secret', UPSTREAM_KEY: 'k', DB: 'x' } }),
    )
    expect(error.message).toContain('upstream.baseUrl')
    expect(`${error.message}${JSON.stringify(error.details)}`).not.toMatch(/url-secret/)
  })

  it('are masked by the logger wherever they appear in a line', async () => {
    const lines: string[] = []
    const destination = new Writable({ write: (chunk: Buffer, _encoding, done) => done(void lines.push(chunk.toString())) })
    const log = createLogger({ destination, secrets: ['sk-echoed-key', 'we"ird\\value'] })
    log.warn({ err: new Error('401: Incorrect API key provided: sk-echoed-key') }, 'upstream refused sk-echoed-key')
    log.info({ nested: { text: 'a we"ird\\value inside' } }, 'plain')
    expect(lines.join('')).not.toMatch(/sk-echoed-key|ird/)
    expect(lines.join('')).toContain('[redacted]')
  })
})
