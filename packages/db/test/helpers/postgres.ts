/**
 * The shared PostgreSQL server of the development and CI machines (127.0.0.1:5432, user
 * postgres, trust auth): whether it is there, and databases of our own, uniquely named per test
 * run so that test files run in parallel and leave nothing behind.
 */
import { randomBytes } from 'node:crypto'
import pg from 'pg'
import { probeService } from '@plinth/core/testing'

export const ADMIN_URL = process.env.PLINTH_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test'

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

/** Whether PostgreSQL answers a query; rejects under PLINTH_REQUIRE_SERVICES=1 when it does not. */
export const postgres = await probeService('PostgreSQL', () => admin((c) => c.query('select 1')))

/** A name no other test run uses. */
export function uniqueName(prefix: string): string {
  return `${prefix}_${process.pid}_${randomBytes(4).toString('hex')}`
}

/** The URL of database `name` on the test server, with `password` in it (trust auth ignores it). */
export function urlOf(name: string, password = 's3cret-pw'): string {
  const url = new URL(ADMIN_URL)
  url.password = password
  url.pathname = `/${name}`
  return url.toString()
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
  const name = uniqueName(prefix)
  await admin((c) => c.query(`create database "${name}"`))
  return { name, url: urlOf(name), drop: () => dropDatabase(name) }
}

export async function dropDatabase(name: string): Promise<void> {
  await admin((c) => c.query(`drop database if exists "${name}" with (force)`))
}

/** Creates a login role (trust auth: no password needed), and returns the function that drops it. */
export async function createRole(name: string, attributes = ''): Promise<() => Promise<void>> {
  await admin((c) => c.query(`create role "${name}" login ${attributes}`))
  return () => admin((c) => c.query(`drop role if exists "${name}"`)).then(() => undefined)
}
