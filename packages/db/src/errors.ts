/**
 * The error catalogue of `@plinth/db`: connecting, creating databases and migrating. Codes are
 * stable and never reused; docs/errors.md lists them with every other package's.
 */
import { defineErrors } from '@plinth/core'

/**
 * Every code @plinth/db raises, with its title, what to do, and its HTTP status where it is not a
 * server fault.
 *
 * @example
 * if (dbErrors.is(error, 'PLINTH_ERR_DB_INVALID_URL')) console.error(error.hint)
 */
export const dbErrors = defineErrors('@plinth/db', {
  PLINTH_ERR_DB_INVALID_URL: {
    title: 'Invalid database URL',
    hint: 'Set DATABASE_URL to postgres://user:password@host:5432/database (percent-encode special characters), or leave it unset for SQLite in the data directory. Passwords are never printed.',
  },
  PLINTH_ERR_DB_CONNECT_FAILED: {
    title: 'Could not connect to the database',
    hint: 'Check that the server in DATABASE_URL is running and reachable from here (host, port, firewall); raise connectTimeout if it is slow to start, or set SKIP_DB_INIT=true to start without it.',
    status: 503,
  },
  PLINTH_ERR_DB_AUTH_FAILED: {
    title: 'The database refused the credentials',
    hint: 'Check the user and password in DATABASE_URL (or the secret it comes from) and that the server allows this user from this host (pg_hba.conf).',
  },
  PLINTH_ERR_DB_NOT_FOUND: {
    title: 'The database does not exist',
    hint: 'Create it, or declare it in a module\'s bootstrap.databases so that the bootstrap phase creates it, or correct the database name in DATABASE_URL.',
  },
  PLINTH_ERR_DB_UNAVAILABLE: {
    title: 'The database is unavailable',
    hint: 'The database could not be reached for this query; the next query tries again, and /health says since when and why. Check the database server.',
    status: 503,
  },
  PLINTH_ERR_DB_CREATE_FAILED: {
    title: 'A declared database could not be created',
    hint: 'Grant the DATABASE_URL user CREATEDB, or have an administrator run the CREATE DATABASE named in the message; for SQLite make the data directory writable.',
  },
  PLINTH_ERR_MIGRATION_FAILED: {
    title: 'A migration failed',
    hint: 'Fix the migration named (the database\'s own error is in the message); it was rolled back, so the next start or `plinth migrate up` applies it again.',
  },
  PLINTH_ERR_MIGRATION_LOCK_TIMEOUT: {
    title: 'Another instance held the migration lock too long',
    hint: 'Another instance is still migrating (the holder is named); wait for it, or raise migrationLockTimeout for long migrations.',
  },
  PLINTH_ERR_MIGRATIONS_PENDING: {
    title: 'Migrations are pending and automatic migration is off',
    hint: 'Apply the migrations listed with `plinth migrate up` (from one instance, before starting), or unset DATABASE_MIGRATE (or set it to true) so that the service applies them at start.',
  },
  PLINTH_ERR_MIGRATION_INVALID: {
    title: 'Invalid migrations',
    hint: 'Correct the migration declarations listed: unique names per module, an up() function, and a down() for those you revert.',
  },
})
