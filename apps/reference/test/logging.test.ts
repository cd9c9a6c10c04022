/** The reference service's log file: LOG_FILE turns it on, in the data directory, rotated. */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startTestApp } from '@plinth/core/testing'
import { expect, it } from 'vitest'
import { createReferenceApp } from '../src/app.js'
import { freePorts } from './service.js'

it('writes its logs to the rotating file LOG_FILE names, in the data directory', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'plinth-reference-log-'))
  try {
    const dataDir = join(dir, 'data')
    const t = await startTestApp(createReferenceApp(), { cwd: dir, env: { ...freePorts, DATA_DIR: dataDir, LOG_FILE: 'logs/app.log', LOG_FILE_KEEP: '3' } })
    await t.stop()
    const files = await readdir(join(dataDir, 'logs'))
    expect(files).toEqual([expect.stringMatching(/^app\.\d{4}-\d{2}-\d{2}\.1\.log$/)])
    const lines = (await readFile(join(dataDir, 'logs', files[0]!), 'utf8')).trim().split('\n').map((line) => JSON.parse(line) as { msg: string })
    expect(lines.some((line) => line.msg.startsWith('ready in'))).toBe(true)
    expect(lines.at(-1)?.msg).toMatch(/^stopped in/)
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})
