/**
 * Every function and class a package exports (from its entry points: `src/index.ts`,
 * `src/testing.ts`) carries TSDoc with an `@example` (hono's rule: the editor tooltip is the
 * documentation most users read). Checked for the packages listed; a package joins the list once
 * its exports are documented.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs'
import { join, relative } from 'node:path'
import ts from 'typescript'
import { describe, expect, it } from 'vitest'

const root = new URL('..', import.meta.url).pathname
const documented = ['core', 'http', 'ws', 'grpc', 'graphql', 'db', 'messaging', 'jobs', 'cqrs', 'cache', 'state', 'secrets', 'flags', 'auth', 'plugins', 'discovery']

function sourceFiles(dir: string): string[] {
  if (!existsSync(dir)) return []
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) return sourceFiles(path)
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') ? [path] : []
  })
}

/** The names a package's entry points export, as declared in their source files (`b` for `export { b as c }`). */
function publicNames(pkg: string): Set<string> {
  const names = new Set<string>()
  for (const entry of ['index.ts', 'testing.ts']) {
    const file = join(root, 'packages', pkg, 'src', entry)
    if (!existsSync(file)) continue
    const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true, ts.ScriptKind.TS)
    for (const statement of source.statements) {
      if (ts.isExportDeclaration(statement) && statement.exportClause && ts.isNamedExports(statement.exportClause)) {
        for (const element of statement.exportClause.elements) names.add((element.propertyName ?? element.name).getText(source))
      } else if ((ts.isFunctionDeclaration(statement) || ts.isClassDeclaration(statement)) && statement.name) names.add(statement.name.text)
    }
  }
  return names
}

/** The exported functions and classes of a file (not `@internal` ones) that have no `@example` in their TSDoc. */
export function undocumentedExports(text: string, only?: ReadonlySet<string>): string[] {
  const source = ts.createSourceFile('file.ts', text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS)
  const missing: string[] = []
  for (const statement of source.statements) {
    if (!(ts.isFunctionDeclaration(statement) || ts.isClassDeclaration(statement)) || statement.name === undefined) continue
    if (!statement.modifiers?.some((m) => m.kind === ts.SyntaxKind.ExportKeyword)) continue
    if (only !== undefined && !only.has(statement.name.text)) continue
    // Overloads are documented once, on the first signature.
    if (ts.isFunctionDeclaration(statement) && statement.body === undefined) continue
    const docs = ts.getJSDocCommentsAndTags(statement).map((node) => node.getText(source)).join('\n')
    const overloaded = ts.isFunctionDeclaration(statement) && source.statements.some((other) => other !== statement && ts.isFunctionDeclaration(other) && other.name?.text === statement.name!.text && other.body === undefined)
    const overloadDocs = overloaded
      ? source.statements
          .filter((other) => ts.isFunctionDeclaration(other) && other.name?.text === statement.name!.text)
          .flatMap((other) => ts.getJSDocCommentsAndTags(other).map((node) => node.getText(source)))
          .join('\n')
      : ''
    const all = `${docs}\n${overloadDocs}`
    if (/@internal\b/.test(all)) continue
    if (!/@example\b/.test(all)) missing.push(statement.name.text)
  }
  return missing
}

describe('TSDoc examples', () => {
  it.each(documented)('every function and class @plinth/%s exports has an @example', (name) => {
    const exported = publicNames(name)
    expect(exported.size).toBeGreaterThan(0)
    const missing = sourceFiles(join(root, 'packages', name, 'src')).flatMap((file) =>
      undocumentedExports(readFileSync(file, 'utf8'), exported).map((exported) => `${relative(root, file)}: ${exported}`),
    )
    expect(missing).toEqual([])
  })

  it('finds an exported function without an example, and accepts one with it or marked internal', () => {
    expect(undocumentedExports('export function bare() {}\n/** Documented.\n * @example\n * shown()\n */\nexport function shown() {}\n/** @internal */\nexport function hidden() {}\nfunction local() {}')).toEqual(['bare'])
  })
})
