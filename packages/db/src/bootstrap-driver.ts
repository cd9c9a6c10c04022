/**
 * The bootstrap phase's database driver: creates, before any module loads, the databases that
 * modules declare in `bootstrap.databases`, with their tables. It follows DATABASE_URL like the
 * database component does: a SQLite file `<dataDir>/<name>.sqlite` by default, a database named
 * `<name>` on DATABASE_URL's PostgreSQL server when it is a postgres:// URL.
 *
 * Tables come from the requirement's options: `schema` (a SQL file beside the module) or `sql`
 * (inline), each a string or one per engine. They run in one transaction, so a killed bootstrap
 * leaves either all the tables or none, and the next start finishes the job.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { type DatabaseBootstrapContext, type DatabaseBootstrapDriver, type DatabaseRequirement } from '@plinth/core'
import type { Client } from 'pg'
import { connectError, safeCause, safeMessage } from './connect-errors.js'
import { parseDatabaseUrl, quoteIdentifier, redactUrl, siblingDatabaseUrl, type DatabaseLocation } from './url.js'
import { dbErrors } from './errors.js'

type PerEngine = string | { sqlite?: string; postgres?: string }

/** What a module may put in `bootstrap.databases[].options` for this driver. */
export interface DatabaseRequirementOptions {
  /** A SQL file, relative to the module's folder, run when the database is created. */
  readonly schema?: PerEngine
  /** Inline SQL, instead of a file. */
  readonly sql?: PerEngine
  /** Tables that must exist for the database to count as present. Default: those the SQL creates. */
  readonly tables?: readonly string[]
  /**
   * The server to create it on, instead of DATABASE_URL: a URL, or a function of the app's
   * validated configuration (`(config) => config.databaseUrl`, for a URL that `.env` or a config
   * file may set). A function giving undefined falls back to DATABASE_URL.
   */
  readonly url?: string | ((config: any) => string | undefined)
  /**
   * The database the URL itself names (its path on PostgreSQL, the file of a `sqlite:` URL),
   * rather than one called `name` beside it: how an app declares its main database, the one its
   * `database()` component opens. Without a URL it is `<dataDir>/<name>.sqlite`. Default false.
   */
  readonly urlDatabase?: boolean
}

const tablePattern = /create\s+(?:(?:temp|temporary|unlogged)\s+)?table\s+(?:if\s+not\s+exists\s+)?((?:"[^"]+"|[\w$]+)(?:\.(?:"[^"]+"|[\w$]+))?)/gi

/**
 * The tables a schema creates, as its `CREATE TABLE` statements name them.
 *
 * @example
 * tablesCreatedBy('create table if not exists readings (at text); create table "devices" (id text)') // ['readings', 'devices']
 */
export function tablesCreatedBy(sqlText: string): string[] {
  return [...sqlText.matchAll(tablePattern)].map((m) => m[1]!.replaceAll('"', ''))
}

function optionsOf(requirement: DatabaseRequirement): DatabaseRequirementOptions {
  return requirement.options ?? {}
}

/** The server's URL: the requirement's own, else DATABASE_URL from the environment start() was given. */
function baseUrl(requirement: DatabaseRequirement, context: DatabaseBootstrapContext): string | undefined {
  // env is optional in older cores; process.env is what start() defaults it to.
  const { url } = optionsOf(requirement)
  return (typeof url === 'function' ? url(context.config) : url) ?? (context.env.DATABASE_URL || undefined)
}

function locationOf(requirement: DatabaseRequirement, context: DatabaseBootstrapContext): DatabaseLocation {
  const base = baseUrl(requirement, context)
  // A relative sqlite: URL is the app's working directory's, as the database component reads it.
  if (optionsOf(requirement).urlDatabase && base !== undefined) return parseDatabaseUrl(base, context.module === undefined ? context.baseDir : process.cwd())
  return parseDatabaseUrl(siblingDatabaseUrl(base, requirement.name, context.dataDir))
}

/** The URL whose database is known to exist on the server, to connect to before creating: none when that is the one to create. */
function ownServerUrl(requirement: DatabaseRequirement, context: DatabaseBootstrapContext): string | undefined {
  return optionsOf(requirement).urlDatabase ? undefined : baseUrl(requirement, context)
}

function pick(value: PerEngine | undefined, dialect: 'sqlite' | 'postgres'): string | undefined {
  return typeof value === 'object' ? value[dialect] : value
}

/** The SQL that makes the database's tables, from the schema file or the inline SQL. */
function schemaOf(requirement: DatabaseRequirement, context: DatabaseBootstrapContext, dialect: 'sqlite' | 'postgres'): string {
  const options = optionsOf(requirement)
  const inline = pick(options.sql, dialect)
  if (inline !== undefined) return inline
  const file = pick(options.schema, dialect)
  if (file === undefined) return ''
  const path = resolve(context.baseDir, file)
  try {
    return readFileSync(path, 'utf8')
  } catch (error) {
    throw dbErrors.create('PLINTH_ERR_DB_CREATE_FAILED', `the schema of database "${requirement.name}"${context.module ? ` (module "${context.module}")` : ''} cannot be read from ${path}: ${(error as Error).message}`, { cause: error })
  }
}

function tablesOf(requirement: DatabaseRequirement, context: DatabaseBootstrapContext, dialect: 'sqlite' | 'postgres'): string[] {
  return [...(optionsOf(requirement).tables ?? tablesCreatedBy(schemaOf(requirement, context, dialect)))]
}

async function sqliteExists(file: string, tables: readonly string[]): Promise<boolean> {
  if (!existsSync(file)) return false
  const { default: BetterSqlite3 } = await import('better-sqlite3')
  const db = new BetterSqlite3(file, { readonly: true, fileMustExist: true })
  try {
    const found = new Set((db.prepare(`select name from sqlite_master where type = 'table'`).all() as { name: string }[]).map((r) => r.name))
    return tables.every((t) => found.has(t.split('.').at(-1)!))
  } finally {
    db.close()
  }
}

async function sqliteCreate(file: string, schema: string): Promise<void> {
  const { default: BetterSqlite3 } = await import('better-sqlite3')
  mkdirSync(dirname(file), { recursive: true })
  const db = new BetterSqlite3(file)
  try {
    db.pragma('journal_mode = WAL')
    if (schema.trim() !== '') db.transaction(() => db.exec(schema)).immediate()
  } finally {
    db.close()
  }
}

async function connect(location: Extract<DatabaseLocation, { dialect: 'postgres' }>, database: string): Promise<Client> {
  const { default: pg } = await import('pg')
  const url = new URL(location.url)
  url.pathname = `/${encodeURIComponent(database)}`
  const client = new pg.Client({ connectionString: url.toString(), connectionTimeoutMillis: 5_000, application_name: 'plinth-bootstrap' })
  client.on('error', () => undefined)
  try {
    await client.connect()
    return client
  } catch (error) {
    await client.end().catch(() => undefined)
    throw error instanceof Error ? Object.assign(error, { database }) : new Error(String(error))
  }
}

/** A session on the server, in a database that exists: the base URL's own, else the maintenance ones. */
async function serverSession(location: Extract<DatabaseLocation, { dialect: 'postgres' }>, base: string | undefined): Promise<Client> {
  const own = base === undefined ? undefined : parseDatabaseUrl(base)
  const candidates = [...new Set([own?.dialect === 'postgres' ? own.database : 'postgres', 'postgres', 'template1'])].filter((name) => name !== location.database)
  let last: unknown
  for (const name of candidates) {
    try {
      return await connect(location, name)
    } catch (error) {
      last = error
      if ((error as { code?: string }).code !== '3D000') break
    }
  }
  throw connectError(last, location.url, location.secrets)
}

async function postgresTablesExist(location: Extract<DatabaseLocation, { dialect: 'postgres' }>, tables: readonly string[]): Promise<boolean> {
  if (tables.length === 0) return true
  const client = await connect(location, location.database).catch((error: unknown) => {
    throw connectError(error, location.url, location.secrets)
  })
  try {
    const { rows } = await client.query<{ missing: number }>('select count(*)::int as missing from unnest($1::text[]) t where to_regclass(t) is null', [tables])
    return rows[0]?.missing === 0
  } finally {
    await client.end()
  }
}

async function postgresExists(base: string | undefined, location: Extract<DatabaseLocation, { dialect: 'postgres' }>, tables: readonly string[]): Promise<boolean> {
  const session = await serverSession(location, base)
  try {
    const { rowCount } = await session.query('select 1 from pg_database where datname = $1', [location.database])
    if (!rowCount) return false
  } finally {
    await session.end()
  }
  return postgresTablesExist(location, tables)
}

async function postgresCreate(base: string | undefined, location: Extract<DatabaseLocation, { dialect: 'postgres' }>, schema: string, module: string | undefined): Promise<string> {
  const shown = redactUrl(location.url)
  const session = await serverSession(location, base)
  let created = true
  try {
    await session.query(`create database ${quoteIdentifier(location.database)}`)
  } catch (error) {
    const code = (error as { code?: string }).code
    if (code === '42P04') created = false // another instance created it a moment ago
    else {
      const who = module ? ` (declared by module "${module}")` : ''
      const why =
        code === '42501'
          ? `user "${location.user}" may not create databases; have an administrator run CREATE DATABASE ${quoteIdentifier(location.database)} OWNER ${quoteIdentifier(location.user)}, or ALTER ROLE ${quoteIdentifier(location.user)} CREATEDB`
          : 'CREATE DATABASE failed'
      throw dbErrors.create('PLINTH_ERR_DB_CREATE_FAILED', `cannot create database "${location.database}"${who} at ${shown}: ${why}: ${safeMessage(error, location.secrets)}`, {
        cause: safeCause(error, location.secrets),
        details: { database: location.database, url: shown, code },
      })
    }
  } finally {
    await session.end()
  }
  if (schema.trim() !== '') {
    const client = await connect(location, location.database)
    try {
      // One simple-protocol query: the statements run in one transaction with the BEGIN/COMMIT around them.
      await client.query(`begin;\n${schema}\n;commit;`)
    } catch (error) {
      await client.query('rollback').catch(() => undefined)
      throw dbErrors.create('PLINTH_ERR_DB_CREATE_FAILED', `the tables of database "${location.database}" could not be created at ${shown}: ${safeMessage(error, location.secrets)}`, {
        cause: safeCause(error, location.secrets),
      })
    } finally {
      await client.end()
    }
  }
  return `${created ? 'created' : 'found'} PostgreSQL database "${location.database}"${schema.trim() ? ' with its tables' : ''} at ${shown}`
}

/**
 * The driver, named `sql`: SQLite by default, PostgreSQL when DATABASE_URL (or the
 * requirement's `options.url`) is a postgres:// URL. `@plinth/db` registers it on import.
 *
 * @example
 * defineModule({
 *   id: 'telemetry',
 *   bootstrap: { databases: [{ name: 'telemetry', options: { schema: 'schema.sql' } }] },
 *   components: [database({ name: 'telemetry' }, { token: TelemetryDb })],
 * })
 */
export const sqlDatabaseDriver: DatabaseBootstrapDriver = {
  name: 'sql',
  async exists(requirement, context) {
    const location = locationOf(requirement, context)
    const tables = tablesOf(requirement, context, location.dialect)
    return location.dialect === 'sqlite' ? sqliteExists(location.file, tables) : postgresExists(ownServerUrl(requirement, context), location, tables)
  },
  async create(requirement, context) {
    const location = locationOf(requirement, context)
    const schema = schemaOf(requirement, context, location.dialect)
    if (location.dialect === 'postgres') return postgresCreate(ownServerUrl(requirement, context), location, schema, context.module)
    try {
      await sqliteCreate(location.file, schema)
    } catch (error) {
      throw dbErrors.create('PLINTH_ERR_DB_CREATE_FAILED', `cannot create SQLite database "${requirement.name}" at ${location.file}: ${(error as Error).message}`, { cause: error })
    }
    return `created SQLite database ${location.file}${schema.trim() ? ' with its tables' : ''}`
  },
}
