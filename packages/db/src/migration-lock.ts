/**
 * The lock that lets one instance migrate while the others wait, so that several instances
 * starting at once apply each migration exactly once. Both kinds die with their holder: a
 * process killed mid-migration leaves no stale lock behind.
 *
 * - PostgreSQL: a session advisory lock, released when the session ends.
 * - SQLite: an exclusive transaction on a lock file beside the database (`<file>.migration-lock`),
 *   an OS file lock released when the process exits. It is a separate file so that holding it
 *   does not stop the application, or the migrations themselves, from writing to the database.
 */
import { createHash } from 'node:crypto'
import { backoffDelay, PlinthError, sleep } from '@plinth/core'
import { sql, type Kysely } from 'kysely'
import { dbErrors } from './errors.js'

/** The advisory lock key: a stable 63-bit number derived from the migrations table's name. */
export const advisoryLockKey = BigInt.asIntN(64, BigInt(`0x${createHash('sha256').update('plinth:plinth_migrations').digest('hex').slice(0, 16)}`)).toString()

export interface LockOptions {
  /** How long to wait for another instance's migrations, in milliseconds. */
  readonly timeout: number
  readonly signal?: AbortSignal | undefined
  /** Hears once that another instance holds the lock. */
  readonly onWait?: (holder: string) => void
}

/** Polls are spaced from 20 ms up to 500 ms, with jitter, so that waiters do not try in step. */
const pollPolicy = { attempts: Number.POSITIVE_INFINITY, initialDelay: 20, maxDelay: 500, factor: 1.5, jitter: true }

function lockTimeout(where: string, timeout: number, holder: string): PlinthError {
  return dbErrors.create('PLINTH_ERR_MIGRATION_LOCK_TIMEOUT', `another instance held the migration lock of ${where} for more than ${timeout} ms (${holder})`, {
    details: { where, timeout, holder },
  })
}

/**
 * Takes the advisory lock on `db`'s session (a Kysely bound to one connection). Returns the
 * function that releases it.
 *
 * @example
 * await kysely.connection().execute(async (session) => {
 *   const release = await lockPostgres(session, 'postgres://app:***@db/app', { timeout: 60_000 })
 *   try { await migrate(session) } finally { await release() }
 * })
 */
export async function lockPostgres(db: Kysely<any>, where: string, options: LockOptions): Promise<() => Promise<void>> {
  const began = performance.now()
  let told = false
  for (let poll = 1; ; poll++) {
    const { rows } = await sql<{ locked: boolean }>`select pg_try_advisory_lock(${sql.raw(advisoryLockKey)}) as locked`.execute(db)
    if (rows[0]?.locked) break
    const holder = await postgresHolder(db)
    if (!told) options.onWait?.(holder)
    told = true
    if (performance.now() - began > options.timeout) throw lockTimeout(where, options.timeout, holder)
    await sleep(backoffDelay(pollPolicy, poll), options.signal)
  }
  // A killed holder's session is noticed within a second even while its backend sleeps in a statement (PostgreSQL 14+).
  await sql`set client_connection_check_interval = 1000`.execute(db).catch(() => undefined)
  return async () => {
    await sql`select pg_advisory_unlock(${sql.raw(advisoryLockKey)})`.execute(db)
    await sql`reset client_connection_check_interval`.execute(db).catch(() => undefined)
  }
}

async function postgresHolder(db: Kysely<any>): Promise<string> {
  const key = BigInt(advisoryLockKey)
  const classid = Number(BigInt.asUintN(32, key >> 32n))
  const objid = Number(BigInt.asUintN(32, key))
  const { rows } = await sql<{ pid: number; application_name: string; since: string | null }>`
    select a.pid, a.application_name, a.xact_start::text as since
    from pg_locks l join pg_stat_activity a on a.pid = l.pid
    where l.locktype = 'advisory' and l.classid = ${classid} and l.objid = ${objid} and l.granted`.execute(db)
  const row = rows[0]
  return row ? `held by backend pid ${row.pid}${row.application_name ? ` (${row.application_name})` : ''}` : 'held by another session'
}

/**
 * Takes the exclusive lock on the SQLite lock file beside `file`. Returns the function that
 * releases it. Waiting polls without blocking the event loop.
 *
 * @example
 * const release = await lockSqlite('/srv/data/app.sqlite', { timeout: 60_000 })
 * try { await migrate() } finally { await release() }
 */
export async function lockSqlite(file: string, options: LockOptions): Promise<() => Promise<void>> {
  const { default: BetterSqlite3 } = await import('better-sqlite3')
  const path = `${file}.migration-lock`
  const lock = new BetterSqlite3(path, { timeout: 0 })
  const began = performance.now()
  let told = false
  for (let poll = 1; ; poll++) {
    try {
      lock.exec('BEGIN EXCLUSIVE')
      break
    } catch (error) {
      if ((error as { code?: string }).code !== 'SQLITE_BUSY') {
        lock.close()
        throw error
      }
      if (!told) options.onWait?.(`lock file ${path}`)
      told = true
      if (performance.now() - began > options.timeout) {
        lock.close()
        throw lockTimeout(file, options.timeout, `lock file ${path}`)
      }
      try {
        await sleep(backoffDelay(pollPolicy, poll), options.signal)
      } catch (aborted) {
        lock.close()
        throw aborted
      }
    }
  }
  return () => {
    try {
      lock.exec('ROLLBACK')
    } finally {
      lock.close()
    }
    return Promise.resolve()
  }
}
