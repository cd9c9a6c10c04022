import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'

const root = fileURLToPath(new URL('..', import.meta.url))
const cli = fileURLToPath(new URL('./fixtures/plinth-cli.ts', import.meta.url))
const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href
const temporary: string[] = []

async function scratch(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'plinth-cli-'))
  temporary.push(dir)
  return dir
}

/** Runs `plinth ARGS` in `cwd`, as a user would type it there. */
function plinth(cwd: string, args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['--conditions=@plinth/source', '--import', tsx, cli, ...args], {
    cwd,
    env: { PATH: process.env.PATH, APP_ENV: 'development', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, stdout, stderr })))
}

afterAll(async () => {
  await Promise.all(temporary.map((dir) => rm(dir, { recursive: true, force: true })))
})

describe('the plinth command', { timeout: 120_000 }, () => {
  it('prints its usage outside any project, and says how it finds an app', async () => {
    const dir = await scratch()
    for (const args of [['--help'], ['help'], []]) {
      const result = await plinth(dir, args)
      expect(result.code).toBe(0)
      expect(result.stdout).toContain('usage: plinth <command> [options]')
      expect(result.stdout).toContain('--app PATH')
    }
  })

  it('outside a project, fails with a hint whose command works', async () => {
    const dir = await scratch()
    const failed = await plinth(dir, ['check'])
    expect(failed.code).toBe(1)
    expect(failed.stderr).toContain('PLINTH_ERR_APP_NOT_FOUND')
    const hinted = /`(plinth check --app [^`]+)`/.exec(failed.stderr)?.[1]
    expect(hinted).toBeDefined()
    const app = join(root, 'apps/reference/src/app.ts')
    const followed = await plinth(dir, hinted!.split(' ').slice(1).map((arg) => (arg.startsWith('./') ? app : arg)), { DATA_DIR: join(dir, 'data') })
    expect(followed.stdout).toContain('ok: configuration valid')
    expect(followed.code).toBe(0)
  })

  it('at the repository root acts on the reference service, and lists the commands its packages add', async () => {
    const help = await plinth(root, ['--help'])
    expect(help.code).toBe(0)
    expect(help.stdout).toMatch(/^ {2}migrate /m)
    const dataDir = join(await scratch(), 'data')
    const check = await plinth(root, ['check'], { DATA_DIR: dataDir })
    expect(check.stdout).toContain('ok: configuration valid (development)')
    expect(check.code).toBe(0)
    const plan = await plinth(root, ['bootstrap', '--dry-run'], { DATA_DIR: dataDir })
    expect(plan.stdout).toMatch(/create +database +app/)
    expect(existsSync(dataDir)).toBe(false)
  })

  it('from a subfolder of the project, uses the project folder, where the service keeps its data', async () => {
    const project = await scratch()
    await writeFile(join(project, 'package.json'), JSON.stringify({ name: 'shop', plinth: { app: join(root, 'apps/reference/src/app.ts') } }))
    await mkdir(join(project, 'src', 'deep'), { recursive: true })
    const status = await plinth(join(project, 'src', 'deep'), ['migrate', 'status'])
    expect(status.code).toBe(0)
    expect(status.stdout).toContain(`sqlite:${join(project, 'data', 'app.sqlite')}`)
    expect(existsSync(join(project, 'src', 'deep', 'data'))).toBe(false)
  })

  it('prints for people on standard output; the logs of a command go to standard error', async () => {
    const dataDir = join(await scratch(), 'data')
    const up = await plinth(join(root, 'apps/reference'), ['migrate', 'up'], { DATA_DIR: dataDir, LOG_LEVEL: 'info' })
    expect(up.code).toBe(0)
    expect(up.stdout).toMatch(/applied \d+ migration\(s\)/)
    expect(up.stdout).not.toContain('{"level"')
    expect(up.stderr).toContain('applied migration')
  })
})
