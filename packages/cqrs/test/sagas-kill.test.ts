import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { sql } from 'kysely'
import pg from 'pg'
import { afterEach, describe, expect, it } from 'vitest'
import { SagaRunner } from '../src/index.js'
import { openDatabase, provisioning, readLines } from './fixtures/provisioning.js'
import { postgres, postgresUrl } from './harness.js'

const child = fileURLToPath(new URL('./fixtures/saga-child.ts', import.meta.url))
const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href

/** Runs the saga in a real process until it hangs where told, then kills it with SIGKILL. */
async function killMidway(target: string, files: { calls: string; effects: string }, hangAfter: string, failNotify: boolean): Promise<void> {
  const process_ = spawn(process.execPath, ['--conditions=@plinth/source', '--import', tsx, child, target, files.calls, files.effects, hangAfter, failNotify ? 'fail' : ''], { stdio: ['ignore', 'pipe', 'pipe'] })
  let stderr = ''
  process_.stderr.on('data', (chunk) => (stderr += String(chunk)))
  const exit = new Promise<NodeJS.Signals | number | null>((resolve) => process_.on('exit', (code, signal) => resolve(signal ?? code)))
  await new Promise<void>((resolve, reject) => {
    process_.stdout.on('data', (chunk) => String(chunk).includes('HANGING') && resolve())
    void exit.then((how) => reject(new Error(`the child ended (${how}) before hanging: ${stderr}`)))
  })
  process_.kill('SIGKILL')
  expect(await exit).toBe('SIGKILL')
}

const targets: Array<[string, boolean, () => Promise<{ target: string; dispose(): Promise<void> }>]> = [
  ['SQLite', true, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'plinth-sagas-'))
    return { target: join(dir, 'app.sqlite'), dispose: async () => rmSync(dir, { recursive: true, force: true }) }
  }],
  [postgres.title('PostgreSQL'), postgres.available, async () => {
    const schema = `plinth_sagas_${randomBytes(4).toString('hex')}`
    const admin = new pg.Client({ connectionString: postgresUrl })
    await admin.connect()
    await admin.query(`create schema ${schema}`)
    await admin.end()
    return {
      target: `${postgresUrl}#${schema}`,
      dispose: async () => {
        const db = await openDatabase(`${postgresUrl}#${schema}`)
        await sql.raw(`drop schema if exists ${schema} cascade`).execute(db)
        await db.destroy()
      },
    }
  }],
]

for (const [name, enabled, space] of targets) {
  describe.skipIf(!enabled)(`${name}: a saga in a process killed with SIGKILL`, () => {
    const cleanup: Array<() => Promise<void>> = []
    afterEach(async () => {
      for (const step of cleanup.splice(0)) await step()
    })

    async function setUp() {
      const { target, dispose } = await space()
      const dir = mkdtempSync(join(tmpdir(), 'plinth-saga-files-'))
      cleanup.push(dispose, async () => rmSync(dir, { recursive: true, force: true }))
      return { target, files: { calls: join(dir, 'calls'), effects: join(dir, 'effects') } }
    }

    it('resumes after a kill inside an action: the completed step is not run again, the cut-short one runs again under the same key', async () => {
      const { target, files } = await setUp()
      await killMidway(target, files, 'configure', false)
      expect(readLines(files.calls)).toEqual(['reserve', 'configure'])

      const db = await openDatabase(target)
      cleanup.unshift(() => db.destroy())
      const runner = new SagaRunner(db, { sagas: [provisioning(files)] })
      expect((await runner.get('provision-d-7'))?.steps.map((s) => s.status)).toEqual(['done', 'running', 'pending'])
      const [resumed] = await runner.resume()
      expect(resumed?.status).toBe('completed')
      // reserve ran once; configure was called again (its outcome was unknown) and its key kept the effect single.
      expect(readLines(files.calls)).toEqual(['reserve', 'configure', 'configure', 'notify'])
      expect(readLines(files.effects)).toEqual(['provision-d-7:reserve', 'provision-d-7:configure', 'provision-d-7:notify'])
    })

    it('resumes after a kill inside a compensation: it finishes that compensation and does not skip the earlier one', async () => {
      const { target, files } = await setUp()
      await killMidway(target, files, 'undo configure', true)
      expect(readLines(files.calls)).toEqual(['reserve', 'configure', 'undo configure'])

      const db = await openDatabase(target)
      cleanup.unshift(() => db.destroy())
      const runner = new SagaRunner(db, { sagas: [provisioning(files, { failNotify: true })] })
      expect((await runner.get('provision-d-7'))?.status).toBe('compensating')
      const [resumed] = await runner.resume()
      expect(resumed?.status).toBe('compensated')
      expect(resumed?.steps.map((s) => s.status)).toEqual(['compensated', 'compensated', 'failed'])
      expect(readLines(files.calls)).toEqual(['reserve', 'configure', 'undo configure', 'undo configure', 'undo reserve'])
      expect(readLines(files.effects)).toEqual(['provision-d-7:reserve', 'provision-d-7:configure', 'provision-d-7:configure:compensate', 'provision-d-7:reserve:compensate'])
      expect(await runner.resume()).toEqual([])
    })
  })
}
