/**
 * Every ```ts block of every README (the repository's and each package's) runs here, so that a
 * README never shows code that does not work. A block is a whole ES module: it is written next
 * to its README (so its imports and relative URLs resolve as a reader's file would), run with
 * Node and tsx on the packages' TypeScript sources, and must exit 0 by itself within the test's
 * deadline: it asserts what it shows (node:assert) and closes what it opens.
 *
 * A block that is a service's entry point (it serves until a signal) is fenced as ```ts service:
 * it must print its ready line, then exit 0 on SIGTERM. A block that cannot run alone (a fragment
 * of a larger file, a compile error shown on purpose) is fenced as ```ts no-run; the runner
 * checks that each such block says why in its first line.
 */
import { spawn } from 'node:child_process'
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { dirname, join, relative } from 'node:path'
import { describe, expect, it } from 'vitest'

const root = new URL('../', import.meta.url).pathname

interface ReadmeBlock {
  readonly readme: string
  /** 1-based line of the opening fence. */
  readonly line: number
  readonly code: string
  readonly mode: 'run' | 'service' | 'no-run'
}

/** The ```ts blocks of a Markdown text, with the line each starts on. */
function tsBlocks(readme: string, text: string): ReadmeBlock[] {
  const blocks: ReadmeBlock[] = []
  const lines = text.split('\n')
  for (let i = 0; i < lines.length; i++) {
    const fence = /^```(ts|typescript)\b(.*)$/.exec(lines[i] ?? '')
    if (fence === null) continue
    const start = i
    const body: string[] = []
    for (i++; i < lines.length && lines[i] !== '```'; i++) body.push(lines[i] ?? '')
    const info = fence[2] ?? ''
    blocks.push({ readme, line: start + 1, code: body.join('\n'), mode: /\bno-run\b/.test(info) ? 'no-run' : /\bservice\b/.test(info) ? 'service' : 'run' })
  }
  return blocks
}

function readmes(): string[] {
  const found = ['README.md']
  for (const parent of ['packages', 'apps']) {
    for (const name of readdirSync(join(root, parent))) {
      const path = join(parent, name, 'README.md')
      if (existsSync(join(root, path))) found.push(path)
    }
  }
  return found
}

function runBlock(block: ReadmeBlock): Promise<{ code: number | null; output: string }> {
  const file = join(root, dirname(block.readme), `.readme-block-${block.line}.ts`)
  writeFileSync(file, block.code)
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--conditions=@plinth/source', '--import', 'tsx', file], {
      cwd: join(root, dirname(block.readme)),
      // A service prints its ready line at the default level; other blocks keep quiet.
      env: { ...process.env, ...(block.mode === 'service' ? {} : { LOG_LEVEL: 'silent' }), NODE_ENV: 'test' },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let output = ''
    let signalled = false
    const collect = (chunk: Buffer) => {
      output += chunk.toString()
      if (block.mode === 'service' && !signalled && /\bready in\b/.test(output)) {
        signalled = true
        child.kill('SIGTERM')
      }
    }
    child.stdout.on('data', collect)
    child.stderr.on('data', collect)
    const timer = setTimeout(() => child.kill('SIGKILL'), 25_000)
    child.on('close', (code) => {
      clearTimeout(timer)
      rmSync(file, { force: true })
      resolve({ code, output })
    })
  })
}

const all = readmes().flatMap((readme) => tsBlocks(readme, readFileSync(join(root, readme), 'utf8')))

describe('README code blocks', () => {
  it('are found in the repository README and in every package README that has code', () => {
    expect(all.some((block) => block.readme === 'README.md')).toBe(true)
  })

  for (const block of all) {
    const where = `${block.readme}:${block.line}`
    if (block.mode === 'no-run') {
      it(`${where} says why it does not run`, () => {
        expect(block.code.split('\n')[0], `${where}: a no-run block starts with a comment saying why it cannot run alone`).toMatch(/^\/\/ .{10,}/)
      })
      continue
    }
    it(`${where} ${block.mode === 'service' ? 'starts, prints its ready line and exits 0 on SIGTERM' : 'runs and exits 0'}`, { timeout: 30_000 }, async () => {
      const { code, output } = await runBlock(block)
      expect(code, `${relative(root, join(root, block.readme))} block at line ${block.line} exited ${code}:\n${output}`).toBe(0)
      if (block.mode === 'service') expect(output).toMatch(/\bready in\b/)
    })
  }
})
