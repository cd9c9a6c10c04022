import { createHash } from 'node:crypto'
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { EventSpy, createApp, isPlinthError, type ArtifactRequirement, type BootstrapOptions } from '../src/index.js'

const model = Buffer.alloc(512 * 1024, 'weights-')
const modelSha = createHash('sha256').update(model).digest('hex')
const hits = new Map<string, number>()
let server: Server
let base: string

/** A real HTTP server: a model, a server that dies mid-transfer, and one that serves other bytes. */
beforeAll(async () => {
  server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname
    hits.set(path, (hits.get(path) ?? 0) + 1)
    if (path === '/model.bin') {
      res.writeHead(200, { 'content-length': model.length })
      return res.end(model)
    }
    if (path === '/dies.bin') {
      res.writeHead(200, { 'content-length': model.length })
      // Half the body, then the connection drops, as a crashed server or a cut network does.
      res.write(model.subarray(0, model.length / 2), () => setTimeout(() => res.socket?.destroy(), 20))
      return
    }
    if (path === '/tampered.bin') {
      res.writeHead(200, { 'content-length': model.length })
      return res.end(Buffer.alloc(model.length, 'tampered'))
    }
    res.writeHead(404).end('not here')
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())))

const folders: string[] = []
afterEach(() => {
  hits.clear()
  for (const folder of folders.splice(0)) rmSync(folder, { recursive: true, force: true })
})

function setup(artifact: Partial<ArtifactRequirement>, options: BootstrapOptions = {}) {
  const cwd = mkdtempSync(join(tmpdir(), 'plinth-artifacts-'))
  folders.push(cwd)
  const spec = { path: 'models/model.bin', source: `${base}/model.bin`, sha256: modelSha, ...artifact }
  const app = () => createApp({ name: 'svc', bootstrap: { standardDirectories: false, retry: 1, requirements: { artifacts: [spec] }, ...options }, logging: { level: 'silent' } })
  const modelsDir = join(cwd, 'data/models')
  return { cwd, app, modelsDir, target: join(modelsDir, 'model.bin') }
}

describe('artifacts over http', () => {
  it('are fetched, verified and written, with progress events', async () => {
    const { cwd, app, target } = setup({})
    const spy = new EventSpy()
    const a = app()
    a.events.subscribe(spy.listener)
    const report = await a.bootstrap({ cwd, env: {} })
    expect(readFileSync(target).equals(model)).toBe(true)
    expect(report?.actions).toEqual([expect.objectContaining({ action: 'fetch', subject: 'artifact', target: 'data/models/model.bin', detail: `from ${base}/model.bin` })])
    const progress = spy.of('bootstrap-progress')
    expect(progress.length).toBeGreaterThan(1)
    expect(progress.at(-1)).toMatchObject({ target: 'data/models/model.bin', received: model.length, total: model.length })
    // Throttled: at most one event per percent, not one per chunk of a large file.
    expect(progress.length).toBeLessThanOrEqual(102)
  })

  it('are not fetched again once verified', async () => {
    const { cwd, app } = setup({})
    await app().bootstrap({ cwd, env: {} })
    const second = await app().bootstrap({ cwd, env: {} })
    expect(hits.get('/model.bin')).toBe(1)
    expect(second?.actions).toEqual([expect.objectContaining({ action: 'skip', detail: 'verified' })])
  })

  it('are rehashed, not refetched, when the verification index is lost', async () => {
    const { cwd, app } = setup({})
    await app().bootstrap({ cwd, env: {} })
    rmSync(join(cwd, 'data/.plinth'), { recursive: true })
    const second = await app().bootstrap({ cwd, env: {} })
    expect(hits.get('/model.bin')).toBe(1)
    expect(second?.actions[0]).toMatchObject({ action: 'skip', detail: 'verified' })
  })

  it('replace a corrupt file in place', async () => {
    const { cwd, app, modelsDir, target } = setup({})
    mkdirSync(modelsDir, { recursive: true })
    writeFileSync(target, Buffer.alloc(model.length, 'rot'))
    const report = await app().bootstrap({ cwd, env: {} })
    expect(report?.actions[0]?.detail).toMatch(/^checksum mismatch \(sha256 [0-9a-f]{12}…\); replacing it from/)
    expect(readFileSync(target).equals(model)).toBe(true)
    expect(readdirSync(modelsDir)).toEqual(['model.bin'])
  })

  it('with a wrong checksum fail the bootstrap, leave no file, and are not retried', async () => {
    const { cwd, app, modelsDir } = setup({ source: `${base}/tampered.bin` }, { retry: { attempts: 3, initialDelay: 1 } })
    const error = (await app().start({ cwd, env: {} }).catch((e: unknown) => e)) as Error
    expect(isPlinthError(error, 'PLINTH_ERR_BOOTSTRAP_FAILED')).toBe(true)
    const cause = error.cause as Error
    expect(isPlinthError(cause, 'PLINTH_ERR_ARTIFACT_CHECKSUM')).toBe(true)
    expect(cause.message).toContain(`GET ${base}/tampered.bin for models/model.bin has sha256 `)
    expect(cause.message).toContain(`; ${modelSha} was declared`)
    expect(readdirSync(modelsDir)).toEqual([])
    expect(hits.get('/tampered.bin')).toBe(1)
  })

  it('from a server that dies mid-transfer fail, leave no partial file, and are retried', async () => {
    const { cwd, app, modelsDir } = setup({ source: `${base}/dies.bin` }, { retry: { attempts: 2, initialDelay: 1 } })
    const error = (await app().bootstrap({ cwd, env: {} }).catch((e: unknown) => e)) as Error
    const cause = error.cause as Error
    expect(isPlinthError(cause, 'PLINTH_ERR_ARTIFACT_FETCH')).toBe(true)
    expect(cause.message).toMatch(new RegExp(`GET ${base}/dies\\.bin broke off mid-transfer`))
    expect(readdirSync(modelsDir)).toEqual([])
    expect(hits.get('/dies.bin')).toBe(2)
  })

  it('that the server does not have fail with the status', async () => {
    const { cwd, app } = setup({ source: `${base}/missing.bin` })
    await expect(app().bootstrap({ cwd, env: {} })).rejects.toThrow(/GET http:\/\/127\.0\.0\.1:\d+\/missing\.bin answered 404 Not Found/)
  })

  it('with a declared size are checked against it', async () => {
    const { cwd, app, modelsDir } = setup({ size: model.length + 1 })
    await expect(app().bootstrap({ cwd, env: {} })).rejects.toThrow(new RegExp(`gave ${model.length} bytes for models/model.bin; ${model.length + 1} were declared`))
    expect(readdirSync(modelsDir)).toEqual([])
  })

  it('never print the query of a URL, where presigned URLs carry their signature', async () => {
    const { cwd, app } = setup({ source: `${base}/model.bin?X-Amz-Signature=secret` })
    const report = await app().bootstrap({ cwd, env: {}, dryRun: true })
    expect(report?.actions[0]?.detail).toBe(`from ${base}/model.bin?…`)
  })

  it('are planned, not fetched, in a dry run', async () => {
    const { cwd, app } = setup({})
    const report = await app().bootstrap({ cwd, env: {}, dryRun: true })
    expect(report?.actions.map((a) => a.action)).toEqual(['fetch'])
    expect(hits.size).toBe(0)
    expect(readdirSync(cwd)).toEqual([])
  })
})

describe('artifacts from a path', () => {
  it('are copied and verified, relative to the declaring folder', async () => {
    const { cwd, app, target } = setup({ source: 'assets/model.bin' })
    mkdirSync(join(cwd, 'assets'))
    writeFileSync(join(cwd, 'assets/model.bin'), model)
    const report = await app().bootstrap({ cwd, env: {} })
    expect(report?.actions[0]).toMatchObject({ action: 'copy', detail: 'from assets/model.bin' })
    expect(readFileSync(target).equals(model)).toBe(true)
  })

  it('that do not exist fail naming the source', async () => {
    const { cwd, app } = setup({ source: 'assets/nowhere.bin' })
    await expect(app().bootstrap({ cwd, env: {} })).rejects.toThrow(/cannot copy assets\/nowhere\.bin \(declared by the app\): ENOENT/)
  })
})
