import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const fixtures = fileURLToPath(new URL('./fixtures/build-app/', import.meta.url))
const plinth = fileURLToPath(new URL('../bin/plinth.js', import.meta.url))

interface Run {
  code: number | null
  output: string
}

/** Runs node with `args` until it exits, or until `until` appears in its output (then stops it). */
function node(args: string[], until?: string): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { env: { PATH: process.env.PATH, APP_ENV: 'production' }, stdio: ['ignore', 'pipe', 'pipe'] })
    let output = ''
    const read = (chunk: Buffer) => {
      output += chunk.toString()
      if (until !== undefined && output.includes(until)) child.kill('SIGTERM')
    }
    child.stdout.on('data', read)
    child.stderr.on('data', read)
    child.on('exit', (code) => resolve({ code, output }))
  })
}

describe('plinth build', () => {
  it('bundles the app with its discovered modules; the bundle starts, and starts again from its code cache', async () => {
    const out = mkdtempSync(join(tmpdir(), 'plinth-build-'))
    const built = await node([plinth, 'build', '--app', join(fixtures, 'app.js'), '--out', out])
    expect(built.output).toMatch(/built .*app\.cjs \([\d.]+ MiB, 1 discovered module\)/)
    expect(built.code).toBe(0)
    expect(existsSync(join(out, 'app.cjs.cache'))).toBe(false)

    const starts = ['first start, compiles and writes the cache', 'second start, from the cache']
    for (const [earlier, start] of starts.entries()) {
      const run = await node([join(out, 'start.cjs')], 'ready in')
      // What a start leaves in the start cache, the next start reads.
      expect(run.output, start).toContain(`earlier starts: ${earlier}`)
      expect(run.output, start).toContain('start cache refused: a start cache name is lower-case letters, digits and dashes; got "../escape"')
      // The discovered module is the bundle's (its token is the app's), reads its neighbour file,
      // and a file outside the bundle still loads through import(), also when V8 ran from the cache.
      expect(run.output, start).toContain('greeter says: hello, world')
      expect(run.output, start).toContain('outside says: loaded at run time')
      // lazyRequire('semver', import.meta.url): compiled into the bundle, run on first use.
      expect(run.output, start).toContain('lazy semver: 1.2.3, loaded before use: false, from node_modules: false')
      expect(run.output, start).toContain('ready in')
      expect(run.output, start).not.toMatch(/ExperimentalWarning|Error/)
      expect(existsSync(join(out, 'app.cjs.cache')), start).toBe(true)
    }
  })

  it('runs the commands plinth runs: check, graph', async () => {
    const out = mkdtempSync(join(tmpdir(), 'plinth-build-'))
    expect((await node([plinth, 'build', '--app', join(fixtures, 'app.js'), '--out', out])).code).toBe(0)
    const check = await node([join(out, 'start.cjs'), 'check'])
    expect(check.output).toContain('graph valid')
    expect(check.code).toBe(0)
    const graph = await node([join(out, 'start.cjs'), 'graph'])
    expect(graph.output).toMatch(/greeter[\s\S]*outsider|outsider[\s\S]*greeter/)
    expect(graph.code).toBe(0)
  })

  it('says which file imports what cannot be bundled, and how to leave a package out', async () => {
    const out = mkdtempSync(join(tmpdir(), 'plinth-build-'))
    const built = await node([plinth, 'build', '--app', join(fixtures, 'broken.js'), '--out', out])
    expect(built.code).toBe(1)
    expect(built.output).toContain('PLINTH_ERR_BUILD_FAILED')
    expect(built.output).toMatch(/broken\.js:4: Could not resolve "a-package-that-is-not-installed"/)
    expect(built.output).toContain('--external')
  })
})
