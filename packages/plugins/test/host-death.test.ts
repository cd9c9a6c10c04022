/**
 * A host that dies, even by SIGKILL, takes its plugin processes with it: a plugin spinning in a
 * busy loop never notices its pipe closing, so only a parent-death signal ends it.
 */
import { spawn } from 'node:child_process'
import { readFileSync, readdirSync } from 'node:fs'
import { cp, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { fixtures, tempDir } from './helpers.js'

/** Processes whose command line mentions `marker`. */
function processesWith(marker: string): number[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(marker)
      } catch {
        return false
      }
    })
    .map(Number)
}

describe.skipIf(process.platform !== 'linux')('the death of the host', () => {
  it('kills its plugin processes, busy ones included', async () => {
    const dir = await tempDir('plinth-plugins-orphans-')
    try {
      await cp(join(fixtures, 'hostile', 'looper'), join(dir, 'looper'), { recursive: true })
      const host = spawn(process.execPath, ['--import', 'tsx', '--conditions=@plinth/source', join(fixtures, 'dying-host.mts'), dir], { stdio: ['ignore', 'pipe', 'inherit'] })
      await new Promise<void>((resolve) => host.stdout.on('data', (chunk: Buffer) => chunk.toString().includes('spinning') && resolve()))
      expect(processesWith(`--allow-fs-read=${dir}/looper/`).length).toBeGreaterThan(0)
      host.kill('SIGKILL')
      await new Promise((resolve) => host.on('close', resolve))
      await expect.poll(() => processesWith(`--allow-fs-read=${dir}/looper/`), { timeout: 5_000 }).toEqual([])
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})
