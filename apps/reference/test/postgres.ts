/**
 * The shared PostgreSQL server of the development and CI machines, through @plinth/db/testing:
 * whether it answers, and databases of our own, uniquely named per run, dropped afterwards.
 */
import { createTestDatabase, probePostgres, testDatabaseUrl } from '@plinth/db/testing'

/** Skips the PostgreSQL tests with the reason when the server does not answer; fails them under PLINTH_REQUIRE_SERVICES=1. */
export const postgres = await probePostgres()

/** The URL of database `name` on the test server, through `port` (a proxy's) if given. */
export function databaseUrl(name: string, port?: number): string {
  return testDatabaseUrl(name, port === undefined ? {} : { port })
}

/** A fresh database; `drop` removes it, closing what still uses it. */
export function createDatabase(): Promise<{ name: string; url: string; drop: () => Promise<void> }> {
  return createTestDatabase('plinth_reference')
}
