/**
 * What a failed connection means: worth retrying (the server is starting, restarting, or out of
 * reach for a moment) or not (wrong password, no such database, not a database file), and the
 * error a user reads for it. No message here ever carries a password.
 */
import { PlinthError } from '@plinth/core'
import { redactUrl, scrubSecrets } from './url.js'
import { dbErrors } from './errors.js'

interface ErrorFields {
  code?: unknown
  errno?: unknown
  message?: unknown
}

const transientCodes = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
  'ECONNABORTED',
  'EAI_AGAIN',
  // PostgreSQL: the server is starting up or shutting down, or out of connection slots.
  '57P01',
  '57P02',
  '57P03',
  '53300',
  // statement_timeout: the database did not answer within the query deadline.
  '57014',
  '08000',
  '08001',
  '08003',
  '08006',
  'SQLITE_BUSY',
  'SQLITE_LOCKED',
])

/**
 * True when a connection error may go away by itself, so that trying again makes sense.
 *
 * @example
 * isTransient(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })) // true
 * isTransient(Object.assign(new Error('password authentication failed'), { code: '28P01' })) // false
 */
export function isTransient(error: unknown): boolean {
  const fields = (error ?? {}) as ErrorFields
  if (typeof fields.code === 'string' && transientCodes.has(fields.code)) return true
  const message = typeof fields.message === 'string' ? fields.message : ''
  // pg reports a dropped or timed-out connection only in words: the socket closed, a connect or
  // query deadline passed, a client that lost its connection is used again.
  return /Connection terminated|connection timeout|timeout exceeded when trying to connect|timeout expired|Query read timeout|did not answer within|Client has encountered a connection error|not queryable|read ECONNRESET|write EPIPE/i.test(message)
}

/**
 * The error's own words, with its code, and any secret removed.
 *
 * @example
 * safeMessage(new Error('bad password pw1'), ['pw1']) // 'bad password ***'
 */
export function safeMessage(error: unknown, secrets: readonly string[]): string {
  const text = error instanceof Error ? error.message || error.name : String(error)
  const code = (error as ErrorFields | undefined)?.code
  const withCode = typeof code === 'string' && !text.includes(code) ? `${text} (${code})` : text
  return scrubSecrets(withCode, secrets)
}

/**
 * The cause to attach to a Plinth error: the original when it quotes no secret, else a copy of
 * its message and code without them (loggers print every field of a cause).
 *
 * @example
 * dbErrors.create('PLINTH_ERR_DB_UNAVAILABLE', 'lost', { cause: safeCause(error, location.secrets) })
 */
export function safeCause(error: unknown, secrets: readonly string[]): unknown {
  if (!(error instanceof Error)) return error
  const fields = Object.values(error as unknown as Record<string, unknown>).filter((v): v is string => typeof v === 'string')
  const leaks = secrets.some((secret) => secret.length > 0 && [error.message, error.stack ?? '', ...fields].some((text) => text.includes(secret)))
  if (!leaks) return error
  const copy = new Error(scrubSecrets(error.message, secrets))
  copy.name = error.name
  const code = (error as ErrorFields).code
  if (code !== undefined) Object.assign(copy, { code })
  return copy
}

/**
 * The error for a connection that failed: a clear code and hint per kind of failure, the
 * redacted URL, the database's own words, and never the password.
 *
 * @example
 * connectError(pgError, 'postgres://app:pw@db/app', ['pw']).message
 * // the database at postgres://app:***@db/app refused the credentials: password authentication failed for user "app" (28P01)
 */
export function connectError(error: unknown, url: string, secrets: readonly string[], context: { attempts?: number; elapsed?: number } = {}): PlinthError {
  if (error instanceof PlinthError) return error
  const shown = redactUrl(url)
  const reason = safeMessage(error, secrets)
  const code = (error as ErrorFields | undefined)?.code
  const details = { url: shown, reason, ...(typeof code === 'string' ? { code } : {}), ...context }
  const cause = safeCause(error, secrets)
  if (code === '28P01' || code === '28000') {
    return dbErrors.create('PLINTH_ERR_DB_AUTH_FAILED', `the database at ${shown} refused the credentials: ${reason}`, { cause, details })
  }
  if (code === '3D000') {
    return dbErrors.create('PLINTH_ERR_DB_NOT_FOUND', `the database at ${shown} does not exist: ${reason}`, { cause, details })
  }
  if (url.startsWith('sqlite:')) {
    return dbErrors.create('PLINTH_ERR_DB_CONNECT_FAILED', `could not open the SQLite database ${shown}: ${reason}`, {
      cause,
      details,
      hint: 'Check that the data directory (DATA_DIR) exists and is writable, and that the file is a SQLite database.',
    })
  }
  const tried = context.attempts && context.attempts > 1 ? ` after ${context.attempts} attempts in ${Math.round(context.elapsed ?? 0)} ms` : ''
  return dbErrors.create('PLINTH_ERR_DB_CONNECT_FAILED', `could not connect to the database at ${shown}${tried}: ${reason}`, { cause, details })
}
