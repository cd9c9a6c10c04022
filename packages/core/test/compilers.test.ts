import { execFileSync } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { transformSync as swc } from '@swc/core'
import { transformSync as esbuild } from 'esbuild'
import ts from 'typescript'
import { afterAll, describe, expect, it } from 'vitest'

const dist = fileURLToPath(new URL('../dist/index.js', import.meta.url))

/**
 * A user's program, in TypeScript: providers of every kind, lifetimes, optional, accessor and
 * multi dependencies, a class with fields, and a graph error that names where it was declared.
 * No decorators and no emitted metadata, so every compiler must give the same result.
 */
const program = `
import { Container, accessor, component, optional, provide, token } from '@plinth/core'

interface Clock { now(): number }
const Clock = token('clock').of<Clock>()
const Absent = token('absent').of<string>()
const Checks = token('checks').many<string>()

class Greeter {
  readonly greeting = 'hello'
  readonly #clock: Clock
  constructor({ clock }: { clock: Clock }) {
    this.#clock = clock
  }
  greet(name: string): string {
    return \`\${this.greeting} \${name} at \${this.#clock.now()}\`
  }
}

const clock = provide(Clock, { value: { now: () => 42 } })
const greeter = component('greeter', { deps: { clock: Clock }, class: Greeter })
const visit = component('visit', { lifetime: 'scoped', create: () => ({ id: Math.random() }) })
const audit = component('audit', {
  deps: { visit: accessor(visit), absent: optional(Absent), checks: Checks },
  create: ({ visit, absent, checks }) => ({ sameVisit: () => visit() === visit(), absent, checks }),
})
const later = component('later', { create: async () => 'built asynchronously' })

const container = new Container([clock, greeter, visit, audit, later, provide(Checks, { value: 'db' }), provide(Checks, { value: 'cache' })])
const out: Record<string, unknown> = { greeting: container.get(greeter).greet('ada'), checks: container.get(audit).checks, absent: container.get(audit).absent ?? null }
out.sameVisit = await container.runInScope('request', () => container.get(audit).sameVisit())
out.later = await container.resolve(later)
try {
  new Container([component('orders', { deps: { db: token('db').of<object>() }, create: () => ({}) })])
} catch (error) {
  const e = error as { code: string; message: string }
  out.error = e.code
  out.namesItsFile = /program\\.m?js:\\d+/.test(e.message)
}
console.log(JSON.stringify(out))
`

const compilers: Record<string, (source: string) => string> = {
  tsc: (source) => ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } }).outputText,
  esbuild: (source) => esbuild(source, { loader: 'ts', format: 'esm', target: 'es2022' }).code,
  swc: (source) => swc(source, { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' }, module: { type: 'es6' } }).code,
}

const dir = mkdtempSync(join(tmpdir(), 'plinth-compilers-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe('the container compiled by each TypeScript compiler', () => {
  it.each(Object.keys(compilers))('behaves the same compiled by %s', (name) => {
    if (!existsSync(dist)) throw new Error(`${dist} is missing: build first (npm run build); this test runs compiled output as a user's would`)
    const code = compilers[name]!(program).replace(/(["'])@plinth\/core\1/, JSON.stringify(pathToFileURL(dist).href))
    const file = join(dir, `${name}-program.mjs`)
    writeFileSync(file, code)
    const output = execFileSync(process.execPath, [file], { encoding: 'utf8' })
    expect(JSON.parse(output)).toEqual({
      greeting: 'hello ada at 42',
      checks: ['db', 'cache'],
      absent: null,
      sameVisit: true,
      later: 'built asynchronously',
      error: 'PLINTH_ERR_INVALID_GRAPH',
      namesItsFile: true,
    })
  })
})
