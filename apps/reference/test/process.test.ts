/**
 * The service as `npm start` runs it: a real process that prints one ready line with every
 * address and the boot time, serves, and exits 0 on SIGTERM. Sources are loaded through tsx,
 * modules discovered as TypeScript, so no build is needed.
 */
import { spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { expect, it } from 'vitest'
import { freePorts } from './service.js'

const main = fileURLToPath(new URL('../src/main.ts', import.meta.url))
const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href

it('prints one ready line with every address and the boot time, and exits 0 on SIGTERM', async () => {
  const cwd = await mkdtemp(join(tmpdir(), 'plinth-reference-process-'))
  try {
    const child = spawn(process.execPath, ['--conditions=@plinth/source', '--import', tsx, main], {
      cwd,
      env: { PATH: process.env.PATH, APP_ENV: 'development', ...freePorts },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let output = ''
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()))
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()))
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
    const readyLine = await new Promise<string>((resolve, reject) => {
      const poll = setInterval(() => {
        const line = output.split('\n').find((l) => l.includes('"msg":"ready in'))
        if (line === undefined) return
        clearInterval(poll)
        resolve(line)
      }, 50)
      void exited.then(() => {
        clearInterval(poll)
        reject(new Error(`the service exited before it was ready:\n${output}`))
      })
    })
    const ready = JSON.parse(readyLine) as { msg: string; bootMs: number; endpoints: Array<{ name: string; url: string }> }
    expect(output.split('\n').filter((l) => l.includes('"msg":"ready in'))).toHaveLength(1)
    expect(ready.bootMs).toBeGreaterThan(0)
    expect(ready.endpoints.map((e) => e.name).sort()).toEqual(['docs', 'graphql', 'grpc', 'http', 'metrics', 'websocket'])
    for (const { url } of ready.endpoints) expect(ready.msg).toContain(url)
    const http = ready.endpoints.find((e) => e.name === 'http')!.url
    expect((await fetch(`${http}/api/v1/conversation`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ childId: 'c1', message: 'Hello!' }) })).status).toBe(200)

    child.kill('SIGTERM')
    expect(await exited).toBe(0)
    expect(output).toContain('"msg":"stopped in')
  } finally {
    await rm(cwd, { recursive: true, force: true })
  }
}, 60_000)
