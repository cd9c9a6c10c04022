/**
 * Automatic migration off (DATABASE_MIGRATE=false) on a database whose schema is behind: the
 * start fails naming what is missing (the pending migrations), the database they apply to and
 * the fix, not the first table some component happened to read.
 */
import { isPlinthError } from '@plinth/core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createDatabase, postgres } from './postgres.js'
import { startService } from './service.js'

/** The start's failure, as `run` prints it: the boot error's message and its listed causes. */
async function startFailure(env: Record<string, string>): Promise<string> {
  const error = await startService({ DATABASE_MIGRATE: 'false', ...env }).then(
    async (service) => {
      await service.stop()
      return undefined
    },
    (e: unknown) => e,
  )
  expect(isPlinthError(error, 'PLINTH_ERR_BOOT_FAILED'), String(error)).toBe(true)
  return (error as Error).message
}

function expectNamesPendingMigrations(message: string, database: string): void {
  const line = message.split('\n').find((l) => l.includes('database: PLINTH_ERR_MIGRATIONS_PENDING'))
  expect(line, message).toBeDefined()
  expect(line).toContain(`pending on database ${database}`)
  for (const migration of ['jobs/001_plinth_jobs', 'telemetry/001_devices_and_readings', 'telemetry/002_rules_and_findings', 'auth/001_auth_tables']) expect(line).toContain(migration)
  expect(line).toContain('DATABASE_MIGRATE=false')
  expect(line).toContain('plinth migrate up')
  expect(line).toContain('unset DATABASE_MIGRATE')
  // Only the database fails; what reads its tables waits on it instead of failing with "no such table".
  expect(message).toMatch(/start-up failed \(1 component\)/)
  expect(message).not.toMatch(/no such table|does not exist|cannot be read/)
}

describe('pending migrations with DATABASE_MIGRATE=false', () => {
  it('on a fresh SQLite data directory, fails the start naming the pending migrations, the database and the fix', async () => {
    const message = await startFailure({})
    expectNamesPendingMigrations(message, 'sqlite:')
  }, 60_000)

  describe.skipIf(!postgres.available)(postgres.title('on PostgreSQL'), () => {
    let database: Awaited<ReturnType<typeof createDatabase>>
    beforeAll(async () => {
      database = await createDatabase()
    })
    afterAll(() => database?.drop())

    it('on a fresh database, fails the start naming the pending migrations, the database and the fix', async () => {
      const message = await startFailure({ DATABASE_URL: database.url })
      expectNamesPendingMigrations(message, `postgres://postgres@127.0.0.1:5432/${database.name}`)
    }, 60_000)
  })
})
