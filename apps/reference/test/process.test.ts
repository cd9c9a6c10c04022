/**
 * The service as a real process, from its sources (as `npm run start:unbundled` runs it from
 * the compiled files): one ready line with every address and the boot time, serves, and exits 0
 * on SIGTERM. Sources are loaded through tsx, modules discovered as TypeScript, so no build is
 * needed. bundle.test.ts does the same for the bundle `npm start` runs.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { expect, it } from 'vitest'
import { endpoint, spawnService } from './process.js'
import { freePorts } from './service.js'

const main = fileURLToPath(new URL('../src/main.ts', import.meta.url))
const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href

it('prints one ready line with every address and the boot time, and exits 0 on SIGTERM', async () => {
  const cwd = await mkdtemp(join(tmpdir(), 'plinth-reference-process-'))
  const service = spawnService(['--conditions=@plinth/source', '--import', tsx, main], { cwd, env: { PATH: process.env.PATH, APP_ENV: 'development', ...freePorts } })
  try {
    const ready = await service.ready
    expect(service.output().split('\n').filter((l) => l.includes('"msg":"ready in'))).toHaveLength(1)
    expect(ready.bootMs).toBeGreaterThan(0)
    expect(ready.endpoints.map((e) => e.name).sort()).toEqual(['docs', 'graphql', 'grpc', 'http', 'metrics', 'websocket'])
    for (const { url } of ready.endpoints) expect(ready.msg).toContain(url)
    const http = endpoint(ready, 'http')
    expect((await fetch(`${http}/api/v1/conversation`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ childId: 'c1', message: 'Hello!' }) })).status).toBe(200)

    expect(await service.stop()).toBe(0)
    expect(service.output()).toContain('"msg":"stopped in')
  } finally {
    await service.stop()
    await rm(cwd, { recursive: true, force: true })
  }
}, 60_000)
