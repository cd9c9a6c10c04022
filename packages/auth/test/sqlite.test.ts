import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createApp } from '@plinth/core'
import { startTestApp } from '@plinth/core/testing'
import { Database, database } from '@plinth/db'
import { describe } from 'vitest'
import { SqlAuthStore, authMigrations } from '../src/index.js'
import { describeConformance } from './conformance.js'

describe('SqlAuthStore on SQLite', () => {
  describeConformance({
    fresh: async () => {
      const dir = mkdtempSync(join(tmpdir(), 'plinth-auth-'))
      const app = createApp({ name: 'auth-sqlite', components: [database({ url: `sqlite:${join(dir, 'auth.sqlite')}`, migrate: true }), authMigrations()], logging: { level: 'silent' } })
      const running = await startTestApp(app)
      return {
        store: new SqlAuthStore(running.get(Database)),
        cleanup: async () => {
          await running[Symbol.asyncDispose]()
          rmSync(dir, { recursive: true, force: true })
        },
      }
    },
  })
})
