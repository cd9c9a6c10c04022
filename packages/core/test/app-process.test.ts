import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createRequire } from 'node:module'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { describe, expect, it } from 'vitest'

const fixture = fileURLToPath(new URL('./fixtures/signal-app.ts', import.meta.url))
// tsx is resolved from here, since the child runs in an empty temporary directory.
const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href

interface Child {
  process: ChildProcess
  output: () => string
  waitFor: (text: string) => Promise<void>
  exited: Promise<number | null>
}

/** Runs the fixture app as a real process, TypeScript loaded through tsx. */
function launch(fixtureMode: string, args: string[] = [], env: Record<string, string> = {}): Child {
  const cwd = mkdtempSync(join(tmpdir(), 'plinth-app-'))
  const child = spawn(process.execPath, ['--conditions=@plinth/source', '--import', tsx, fixture, ...args], {
    cwd,
    env: { PATH: process.env.PATH, FIXTURE: fixtureMode, APP_ENV: 'development', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  const waiters: Array<{ text: string; resolve: () => void }> = []
  const onData = (chunk: Buffer) => {
    output += chunk.toString()
    for (const w of waiters.filter((w) => output.includes(w.text))) {
      waiters.splice(waiters.indexOf(w), 1)
      w.resolve()
    }
  }
  child.stdout.on('data', onData)
  child.stderr.on('data', onData)
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  return {
    process: child,
    output: () => output,
    waitFor: (text) =>
      output.includes(text)
        ? Promise.resolve()
        : new Promise<void>((resolve, reject) => {
            waiters.push({ text, resolve })
            void exited.then(() => reject(new Error(`process exited before printing "${text}"; output:\n${output}`)))
          }),
    exited,
  }
}

describe('a service process', () => {
  it('on SIGTERM stops in reverse dependency order and exits 0', async () => {
    const child = launch('plain')
    await child.waitFor('ready in')
    child.process.kill('SIGTERM')
    expect(await child.exited).toBe(0)
    const out = child.output()
    expect(out.indexOf('stop api')).toBeGreaterThan(-1)
    expect(out.indexOf('stop api')).toBeLessThan(out.indexOf('stop db'))
    expect(out).toContain('shutting down (SIGTERM)')
  })

  it('on a second signal exits at once, naming what was still running', async () => {
    const child = launch('slow-stop')
    await child.waitFor('ready in')
    child.process.kill('SIGINT')
    await child.waitFor('stop api')
    child.process.kill('SIGINT')
    expect(await child.exited).toBe(130)
    expect(child.output()).toMatch(/SIGINT again: exiting now; still running: .*api/)
    expect(child.output()).not.toContain('stop db')
  })

  it('exits non-zero past the shutdown deadline, naming what did not stop', async () => {
    const child = launch('stuck')
    await child.waitFor('ready in')
    child.process.kill('SIGTERM')
    expect(await child.exited).toBe(1)
    expect(child.output()).toContain('did not stop: db')
  })

  it('logs an uncaught exception, shuts down in order and exits 1', async () => {
    const child = launch('crash')
    expect(await child.exited).toBe(1)
    expect(child.output()).toContain('boom after ready')
    expect(child.output()).toContain('uncaught exception; shutting down')
    expect(child.output()).toContain('stop db')
  })

  it('treats an unhandled rejection the same way', async () => {
    const child = launch('reject')
    expect(await child.exited).toBe(1)
    expect(child.output()).toContain('rejected after ready')
    expect(child.output()).toContain('stop db')
  })

  it('refuses invalid configuration with every problem, exit 78, and starts nothing', async () => {
    const child = launch('plain', ['--name=ab'], { PORT: '99999', API_KEY: '' })
    expect(await child.exited).toBe(78)
    const out = child.output()
    expect(out).toContain('PLINTH_ERR_INVALID_CONFIG')
    expect(out).toMatch(/port.*env PORT/)
    expect(out).toMatch(/name.*--name/)
    expect(out).not.toContain('start db')
  })

  it('writes a Chrome trace of boot and shutdown with --trace', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'plinth-trace-'))
    const file = join(dir, 'boot.json')
    const child = launch('plain', ['start', '--trace', file])
    await child.waitFor('ready in')
    child.process.kill('SIGTERM')
    expect(await child.exited).toBe(0)
    expect(existsSync(file)).toBe(true)
    const trace = JSON.parse(readFileSync(file, 'utf8')) as { traceEvents: Array<{ name: string; ph: string; dur?: number }> }
    const names = trace.traceEvents.filter((e) => e.ph === 'X').map((e) => e.name)
    expect(names).toEqual(expect.arrayContaining(['config', 'validate', 'start', 'start db', 'start api', 'stop api', 'stop db', 'shutdown']))
  })
})

describe('plinth check and plinth graph', () => {
  it('check exits 0 on a valid app', async () => {
    const child = launch('plain', ['check'])
    expect(await child.exited).toBe(0)
    expect(child.output()).toContain('ok: configuration valid (development)')
  })

  it('check exits 1 with the graph report, naming the misspelt token', async () => {
    const child = launch('broken-graph', ['check'])
    expect(await child.exited).toBe(1)
    expect(child.output()).toMatch(/"broken" \(.*signal-app\.ts:\d+\) depends on "databse"/)
  })

  it('check exits 78 on invalid configuration', async () => {
    const child = launch('plain', ['check', '--port=0'])
    expect(await child.exited).toBe(78)
  })

  it('graph prints Mermaid and DOT with lifetimes and start waves', async () => {
    const mermaid = launch('plain', ['graph'])
    expect(await mermaid.exited).toBe(0)
    expect(mermaid.output()).toContain('flowchart LR')
    expect(mermaid.output()).toMatch(/api<br\/>singleton · wave 3/)
    const dot = launch('plain', ['graph', '--format', 'dot'])
    expect(await dot.exited).toBe(0)
    expect(dot.output()).toContain('digraph plinth {')
    expect(dot.output()).toMatch(/db\\nsingleton · wave 2/)
  })
})
