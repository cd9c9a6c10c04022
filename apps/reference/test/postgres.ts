/**
 * The shared PostgreSQL server of the development and CI machines (127.0.0.1:5432, user
 * postgres, database test): whether it answers, and databases of our own, uniquely named per
 * run, dropped afterwards.
 */
import { randomBytes } from 'node:crypto'
import { probeService } from '@plinth/core/testing'
import pg from 'pg'

export const ADMIN_URL = process.env.PLINTH_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test'

async function admin(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: ADMIN_URL, connectionTimeoutMillis: 2_000 })
  client.on('error', () => undefined)
  await client.connect()
  try {
    await client.query(sql)
  } finally {
    await client.end()
  }
}

/** Skips the PostgreSQL tests with the reason when the server does not answer; fails them under PLINTH_REQUIRE_SERVICES=1. */
export const postgres = await probeService('PostgreSQL', () => admin('select 1'))

/** The URL of database `name` on the test server, through `port` (a proxy's) if given. */
export function databaseUrl(name: string, port?: number): string {
  const url = new URL(ADMIN_URL)
  url.pathname = `/${name}`
  if (port !== undefined) url.port = String(port)
  return url.toString()
}

/** A fresh database; `drop` removes it, closing what still uses it. */
export async function createDatabase(): Promise<{ name: string; url: string; drop: () => Promise<void> }> {
  const name = `plinth_reference_${process.pid}_${randomBytes(4).toString('hex')}`
  await admin(`create database "${name}"`)
  return { name, url: databaseUrl(name), drop: () => admin(`drop database if exists "${name}" with (force)`) }
}
