/**
 * The contract of a database, as the container hands it to components: the `Database` token and
 * what it gives. A leaf, so that the component and its implementation both import it.
 */
import { token, type HealthResult, type PlinthError } from '@plinth/core'
import type { Kysely } from 'kysely'
import type { PoolStats } from './driver.js'
import type { Migrator } from './migrator.js'
import type { Dialect } from './url.js'

/** Where a database is in its life: `unavailable` retries on the next query, `failed` needs a fix (a migration failed). */
export type DatabaseState = 'idle' | 'connecting' | 'ready' | 'unavailable' | 'failed' | 'closed'

/**
 * A database: Kysely over SQLite or PostgreSQL, lazily connected. Get it from the container
 * (`deps: { db: Database }`); the `database()` component makes it.
 */
export interface Database {
  /** The component's name. */
  readonly name: string
  readonly dialect: Dialect
  /** The URL with its password replaced by `***`. */
  readonly url: string
  /** Kysely for the application: its first query waits until the database is connected and migrated. */
  readonly kysely: Kysely<any>
  readonly migrator: Migrator
  readonly state: DatabaseState
  /** Why the database is not ready, when it is not. */
  readonly lastError: PlinthError | undefined
  /** True when it may run without its database (SKIP_DB_INIT). */
  readonly optional: boolean
  /** True when start-up applies pending migrations (the `migrate` setting, DATABASE_MIGRATE). */
  readonly migratesAtStart: boolean
  /** The same Kysely instance, typed with the tables of `DB`. */
  typed<DB>(): Kysely<DB>
  /** Connections open, in use and waited for: for metrics and health details. */
  poolStats(): PoolStats
  /** Resolves once connected and migrated; rejects with why not (each call tries again). */
  whenReady(): Promise<void>
  /**
   * The start hook: connect (and migrate) now, or, when optional, try once and else start
   * without it (telling `degraded` why) and connect in the background.
   */
  start(signal?: AbortSignal, degraded?: (reason: PlinthError) => void): Promise<void>
  connect(signal?: AbortSignal): Promise<void>
  /** Keeps trying to connect; `announced` when the outage was already reported (no first warning). */
  connectInBackground(maxDelay?: number, announced?: boolean): void
  ping(options?: { timeout?: number; signal?: AbortSignal }): Promise<number>
  health(signal?: AbortSignal): Promise<HealthResult>
  close(): Promise<void>
}


/**
 * The application's database.
 *
 * @example
 * component('users', { deps: { db: Database }, create: ({ db }) => new UserRepository(db.typed<Tables>()) })
 */
export const Database = token('database').of<Database>()
