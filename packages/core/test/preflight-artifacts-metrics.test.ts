import { createServer as createHttpServer } from 'node:http'
import { createHash } from 'node:crypto'
import { mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { createApp, defineModule, metricsServer, type PreflightReport } from '../src/index.js'
import { freePort } from '../src/testing.js'

const model = Buffer.alloc(64 * 1024, 'weights-')
const modelSha = createHash('sha256').update(model).digest('hex')
const folders: string[] = []
afterEach(() => {
  for (const folder of folders.splice(0)) rmSync(folder, { recursive: true, force: true })
})

const row = (report: PreflightReport) => report.results.find((r) => r.category === 'artifacts')

/** An app declaring one artifact copied from a file beside it, and a module declaring another. */
function setup(options: { bootstrapAtStart?: boolean } = {}) {
  const cwd = mkdtempSync(join(tmpdir(), 'plinth-preflight-artifacts-'))
  folders.push(cwd)
  writeFileSync(join(cwd, 'model.bin'), model)
  writeFileSync(join(cwd, 'labels.txt'), 'cat\ndog\n')
  const labelsSha = createHash('sha256').update('cat\ndog\n').digest('hex')
  const vision = defineModule({ id: 'vision', bootstrap: { artifacts: [{ path: 'vision/labels.txt', source: join(cwd, 'labels.txt'), sha256: labelsSha }] } })
  const app = () =>
    createApp({
      name: 'svc',
      logging: { level: 'silent' },
      modules: [vision],
      bootstrap: { ...(options.bootstrapAtStart === false ? { enabled: false } : {}), standardDirectories: false, requirements: { artifacts: [{ path: 'models/model.bin', source: 'model.bin', sha256: modelSha }] } },
    })
  const run = () => app().preflight({ cwd, env: { APP_ENV: 'production', DATA_DIR: join(cwd, 'data') }, only: 'artifacts' })
  return { cwd, app, run, target: join(cwd, 'data/models/model.bin') }
}

describe('the artifacts preflight check', () => {
  it('warns of artifacts not fetched yet, which start-up\'s bootstrap fetches, naming each with who declared it, then passes once `plinth bootstrap` ran', async () => {
    const { cwd, app, run } = setup()
    const before = row(await run())
    expect(before).toMatchObject({ status: 'warn', fix: expect.stringContaining('run `plinth bootstrap` before the rollout') })
    expect(before?.found).toContain('2 of 2 artifacts not as declared')
    expect(before?.found).toMatch(/; start-up's bootstrap fetches or copies them$/)
    expect(before?.found).toContain('data/models/model.bin (declared by the app, from model.bin) is missing')
    expect(before?.found).toContain('data/vision/labels.txt (declared by module "vision"')
    await app().bootstrap({ cwd, env: { DATA_DIR: join(cwd, 'data') } })
    expect(row(await run())).toMatchObject({ status: 'pass', found: '2 artifacts in place, checksums verified' })
  })

  it('a corrupted artifact is reported with its path, the checksum expected and the one found', async () => {
    const { cwd, app, run, target } = setup()
    await app().bootstrap({ cwd, env: { DATA_DIR: join(cwd, 'data') } })
    const corrupted = Buffer.from(model)
    corrupted[100] = 0
    writeFileSync(target, corrupted)
    const found = createHash('sha256').update(corrupted).digest('hex')
    expect(row(await run())).toMatchObject({
      status: 'fail',
      found: `1 of 2 artifacts not as declared: data/models/model.bin (declared by the app, from model.bin) has sha256 ${found}; ${modelSha} expected`,
      fix: 'run `plinth bootstrap` to fetch or copy the artifacts again and verify them',
    })
    // Read only: the check neither repaired nor replaced the file.
    unlinkSync(target)
    expect(row(await run())?.found).toContain('is missing')
  })

  it('fails on a missing artifact when start-up runs no bootstrap, or when its source is missing too', async () => {
    const noBootstrap = setup({ bootstrapAtStart: false })
    expect(row(await noBootstrap.run())).toMatchObject({ status: 'fail', fix: 'run `plinth bootstrap` to fetch or copy the artifacts again and verify them' })
    const { cwd, run } = setup()
    unlinkSync(join(cwd, 'model.bin'))
    const report = row(await run())
    expect(report).toMatchObject({ status: 'fail' })
    expect(report?.found).toContain('data/models/model.bin (declared by the app, from model.bin) is missing, and so is its source')
  })

  it('passes with nothing declared', async () => {
    const report = await createApp({ name: 'svc', logging: { level: 'silent' } }).preflight({ env: { APP_ENV: 'production' }, only: 'artifacts' })
    expect(row(report)).toMatchObject({ status: 'pass', found: 'no artifact declared' })
  })
})

describe('the metrics endpoint check', () => {
  it('recognises metricsServer() and scrapes the registry it serves', async () => {
    const report = await createApp({ name: 'svc', logging: { level: 'silent' }, components: [metricsServer({ port: 9464 })] }).preflight({ env: { APP_ENV: 'production' }, only: 'monitoring' })
    expect(report.results.find((r) => r.name === 'metrics endpoint')).toMatchObject({ status: 'pass', found: expect.stringMatching(/^GET \/metrics on the metrics server \(port 9464\) \(nothing listens on http:\/\/127\.0\.0\.1:9464\/metrics yet\): scraped [1-9]\d* samples$/) })
  })

  it('scrapes a running instance over HTTP where the endpoint is declared', async () => {
    const port = await freePort()
    const running = createApp({ name: 'svc', logging: { level: 'silent' }, components: [metricsServer({ port })] })
    await running.start()
    try {
      const report = await createApp({ name: 'svc', logging: { level: 'silent' }, components: [metricsServer()] }).preflight({ env: { APP_ENV: 'production', METRICS_PORT: String(port) }, only: 'monitoring' })
      expect(report.results.find((r) => r.name === 'metrics endpoint')).toMatchObject({ status: 'pass', found: expect.stringMatching(new RegExp(`^GET /metrics on the metrics server \\(METRICS_PORT, default 9090\\): scraped [1-9]\\d* samples from http://127\\.0\\.0\\.1:${port}/metrics \\(a running instance\\)$`)) })
    } finally {
      await running.stop()
    }
  })

  it('something else answering where the metrics are declared fails with what it answered', async () => {
    const other = createHttpServer((_req, res) => res.writeHead(404).end('not here'))
    await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve))
    const { port } = other.address() as { port: number }
    try {
      const report = await createApp({ name: 'svc', logging: { level: 'silent' }, components: [metricsServer()] }).preflight({ env: { APP_ENV: 'production', METRICS_PORT: String(port) }, only: 'monitoring' })
      expect(report.results.find((r) => r.name === 'metrics endpoint')).toMatchObject({ status: 'fail', found: expect.stringContaining(`http://127.0.0.1:${port}/metrics answered 404`), fix: expect.stringContaining('METRICS_PORT') })
    } finally {
      other.close()
    }
  })
})
