/**
 * Database URLs: which engine a URL names, where its data lives, and how to print it without its
 * password. Every message and log line of this package shows URLs through `redactUrl`.
 */
import { isAbsolute, resolve } from 'node:path'
import { PlinthError } from '@plinth/core'
import { dbErrors } from './errors.js'

export type Dialect = 'sqlite' | 'postgres'

/** Where a database lives, parsed from its URL. */
export type DatabaseLocation =
  | { readonly dialect: 'sqlite'; /** An absolute path, or `:memory:`. */ readonly file: string; readonly url: string }
  | {
      readonly dialect: 'postgres'
      readonly url: string
      /** The database name in the URL's path. */
      readonly database: string
      readonly host: string
      readonly port: number
      readonly user: string
      /** Values that must never be printed: the password and secret query parameters. */
      readonly secrets: readonly string[]
    }

const REDACTED = '***'
const secretParams = new Set(['password', 'sslpassword', 'sslkey', 'passfile'])

/**
 * The URL with its password and secret query parameters replaced by `***`. Works on text that is
 * not a valid URL too, so that a malformed URL is still safe to print.
 *
 * @example
 * redactUrl('postgres://app:s3cret@db:5432/app?sslpassword=x') // 'postgres://app:***@db:5432/app?sslpassword=***'
 */
export function redactUrl(url: string): string {
  let out = url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/@?#\s]*):[^@/?#\s]*@/i, `$1:${REDACTED}@`)
  out = out.replace(/([?&])([^=&#]+)=([^&#]*)/g, (whole, sep: string, key: string) => (secretParams.has(key.toLowerCase()) ? `${sep}${key}=${REDACTED}` : whole))
  return out
}

/**
 * Replaces every occurrence of each secret in a text by `***`: for error messages that may have
 * quoted a connection string.
 *
 * @example
 * scrubSecrets('could not parse postgres://a:pw@h/db', ['pw']) // 'could not parse postgres://a:***@h/db'
 */
export function scrubSecrets(text: string, secrets: readonly string[]): string {
  let out = text
  for (const secret of secrets) if (secret.length > 0) out = out.split(secret).join(REDACTED)
  return out
}

function invalid(url: string, why: string): PlinthError {
  return dbErrors.create('PLINTH_ERR_DB_INVALID_URL', `the database URL "${redactUrl(url)}" ${why}`, {
    details: { url: redactUrl(url) },
  })
}

/**
 * Parses a database URL. SQLite: `sqlite:PATH`, `sqlite://PATH` (`sqlite:///abs/path`),
 * `file:PATH` or `:memory:`; a relative path is relative to `cwd`. PostgreSQL: `postgres://` or
 * `postgresql://`. Anything else is a `PLINTH_ERR_DB_INVALID_URL` that never shows the password.
 *
 * @example
 * parseDatabaseUrl('sqlite:data/app.sqlite')              // { dialect: 'sqlite', file: '/srv/data/app.sqlite', ... }
 * parseDatabaseUrl('postgres://app:pw@127.0.0.1:5432/app') // { dialect: 'postgres', database: 'app', ... }
 */
export function parseDatabaseUrl(url: string, cwd: string = process.cwd()): DatabaseLocation {
  if (typeof url !== 'string' || url.trim() === '') throw invalid(String(url), 'is empty; set DATABASE_URL to a postgres:// URL, or leave it unset for SQLite in the data directory')
  const text = url.trim()
  if (text === ':memory:' || text === 'sqlite::memory:' || text === 'sqlite://:memory:') return { dialect: 'sqlite', file: ':memory:', url: 'sqlite::memory:' }
  const sqlite = /^(?:sqlite|file):(?:\/\/)?(.*)$/i.exec(text)
  if (sqlite) {
    const path = decodeURIComponent(sqlite[1]!.split('?')[0]!)
    if (path === '') throw invalid(text, 'names no file; write sqlite:./data/app.sqlite or sqlite:///absolute/path.sqlite')
    const file = isAbsolute(path) ? path : resolve(cwd, path)
    return { dialect: 'sqlite', file, url: `sqlite:${file}` }
  }
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(text)?.[1]?.toLowerCase()
  if (scheme !== 'postgres' && scheme !== 'postgresql') {
    const named = scheme ? `uses the scheme "${scheme}:"` : 'has no scheme'
    throw invalid(text, `${named}; Plinth supports postgres://user:password@host:port/database and sqlite:path/to/file.sqlite`)
  }
  let parsed: URL
  try {
    parsed = new URL(text)
  } catch {
    // The URL parser's error quotes its input, password included: it is not kept as the cause.
    throw invalid(text, 'is not a valid URL; expected postgres://user:password@host:port/database (percent-encode special characters in the password)')
  }
  const database = decodeURIComponent(parsed.pathname.replace(/^\//, ''))
  if (database === '' || database.includes('/')) throw invalid(text, 'names no database; add it as the path: postgres://user:password@host:5432/DATABASE')
  const port = parsed.port === '' ? 5432 : Number(parsed.port)
  const secrets = [parsed.password, decodeURIComponent(parsed.password)]
  for (const [key, value] of parsed.searchParams) if (secretParams.has(key.toLowerCase())) secrets.push(value)
  return {
    dialect: 'postgres',
    url: text,
    database,
    host: decodeURIComponent(parsed.hostname) || 'localhost',
    port,
    user: decodeURIComponent(parsed.username),
    secrets: [...new Set(secrets.filter((s) => s.length > 0))],
  }
}

/**
 * The URL of another database on the same server: for PostgreSQL the same URL with another
 * database name; for SQLite a file named after the database in the same folder as `dataDir`.
 *
 * @example
 * siblingDatabaseUrl('postgres://app@db/app', 'telemetry', '/srv/data') // 'postgres://app@db/telemetry'
 * siblingDatabaseUrl(undefined, 'telemetry', '/srv/data')               // 'sqlite:/srv/data/telemetry.sqlite'
 */
export function siblingDatabaseUrl(url: string | undefined, name: string, dataDir: string): string {
  if (url === undefined || parseDatabaseUrl(url).dialect === 'sqlite') return `sqlite:${resolve(dataDir, `${name}.sqlite`)}`
  const parsed = new URL(url.trim())
  parsed.pathname = `/${encodeURIComponent(name)}`
  return parsed.toString()
}

/**
 * Quotes a PostgreSQL identifier.
 *
 * @example
 * quoteIdentifier('orders') // '"orders"', safe in CREATE DATABASE
 */
export function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`
}
