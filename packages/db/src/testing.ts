/**
 * @plinth/db/testing: PostgreSQL for tests. Tests that need the server probe it (skipping with
 * the reason when it does not answer, failing under PLINTH_REQUIRE_SERVICES=1) and get databases
 * of their own, uniquely named per run, so test files run in parallel and leave nothing behind.
 * The server is PLINTH_TEST_POSTGRES_URL, else the development and CI machines'
 * postgres://postgres@127.0.0.1:5432/test.
 */
import { randomBytes } from 'node:crypto'
import { probeService, type ServiceAvailability } from '@plinth/core/testing'
import pg from 'pg'

/** The test server's administration URL. */
export const testPostgresUrl = process.env.PLINTH_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test'

async function admin(text: string): Promise<void> {
  const client = new pg.Client({ connectionString: testPostgresUrl, connectionTimeoutMillis: 2_000 })
  client.on('error', () => undefined)
  await client.connect()
  try {
    await client.query(text)
  } finally {
    await client.end()
  }
}

/**
 * Whether the test server answers a query.
 *
 * @example
 * const postgres = await probePostgres()
 * describe.skipIf(!postgres.available)(postgres.title('on PostgreSQL'), () => { ... })
 */
export function probePostgres(): Promise<ServiceAvailability> {
  return probeService('PostgreSQL', () => admin('select 1'))
}

/**
 * The URL of database `name` on the test server, through `port` (a proxy's) or with `password` if given.
 *
 * @example
 * const url = testDatabaseUrl('orders_1', { port: proxy.port })
 */
export function testDatabaseUrl(name: string, options: { port?: number; password?: string } = {}): string {
  const url = new URL(testPostgresUrl)
  url.pathname = `/${name}`
  if (options.port !== undefined) url.port = String(options.port)
  if (options.password !== undefined) url.password = options.password
  return url.toString()
}

/**
 * A database name no other test run uses.
 *
 * @example
 * const name = uniqueDatabaseName('plinth_orders') // plinth_orders_4242_9f3a1c2e
 */
export function uniqueDatabaseName(prefix: string): string {
  return `${prefix}_${process.pid}_${randomBytes(4).toString('hex')}`
}

/**
 * Drops a database of the test server, closing whatever still uses it.
 *
 * @example
 * await dropTestDatabase('orders_1')
 */
export function dropTestDatabase(name: string): Promise<void> {
  return admin(`drop database if exists "${name}" with (force)`)
}

/**
 * Creates a fresh database on the test server; `drop` removes it.
 *
 * @example
 * const { url, drop } = await createTestDatabase('plinth_orders')
 * try { ... database({ url }) ... } finally { await drop() }
 */
export async function createTestDatabase(prefix: string): Promise<{ name: string; url: string; drop: () => Promise<void> }> {
  const name = uniqueDatabaseName(prefix)
  await admin(`create database "${name}"`)
  return { name, url: testDatabaseUrl(name), drop: () => dropTestDatabase(name) }
}
