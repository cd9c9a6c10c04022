/**
 * What the db tests need of PostgreSQL beyond what @plinth/db/testing ships: SQL on a database
 * of the test server, and login roles.
 */
import pg from 'pg'
import { createTestDatabase, dropTestDatabase, probePostgres, testDatabaseUrl, testPostgresUrl, uniqueDatabaseName } from '../../src/testing.js'

const ADMIN_URL = testPostgresUrl

/** Whether PostgreSQL answers a query; rejects under PLINTH_REQUIRE_SERVICES=1 when it does not. */
export const postgres = await probePostgres()

export { uniqueDatabaseName as uniqueName, dropTestDatabase as dropDatabase }

/** The URL of database `name` on the test server, with `password` in it (trust auth ignores it). */
export function urlOf(name: string, password = 's3cret-pw'): string {
  return testDatabaseUrl(name, { password })
}

async function admin<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: ADMIN_URL, connectionTimeoutMillis: 2_000 })
  client.on('error', () => undefined)
  await client.connect()
  try {
    return await work(client)
  } finally {
    await client.end()
  }
}

/** Runs SQL on database `name` (or the admin database). */
export async function query<R extends pg.QueryResultRow = pg.QueryResultRow>(name: string | undefined, text: string, values: unknown[] = []): Promise<R[]> {
  const client = new pg.Client({ connectionString: name ? urlOf(name) : ADMIN_URL })
  client.on('error', () => undefined)
  await client.connect()
  try {
    return (await client.query<R>(text, values)).rows
  } finally {
    await client.end()
  }
}

/** Creates a fresh database; the returned function drops it (closing whatever still uses it). */
export async function createDatabase(prefix = 'plinth_db'): Promise<{ name: string; url: string; drop: () => Promise<void> }> {
  const created = await createTestDatabase(prefix)
  return { ...created, url: urlOf(created.name) }
}

/** Creates a login role (trust auth: no password needed), and returns the function that drops it. */
export async function createRole(name: string, attributes = ''): Promise<() => Promise<void>> {
  await admin((c) => c.query(`create role "${name}" login ${attributes}`))
  return () => admin((c) => c.query(`drop role if exists "${name}"`)).then(() => undefined)
}
