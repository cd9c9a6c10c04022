// Writes docs/errors.md from every package's error catalogue (each `packages/<name>/src/errors.ts`,
// made with defineErrors), so that the page and the codes cannot drift: the errors test fails
// when the file is not what this script would write. A new package's catalogue is picked up by
// its path alone. Run: npm run docs:errors
import { existsSync, readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import type { ErrorCatalogue } from '../packages/core/src/index.js'

const root = new URL('..', import.meta.url).pathname

/** Every `packages/<name>/src/errors.ts`, core first, then by package folder. */
export function catalogueFiles(): string[] {
  const packages = readdirSync(join(root, 'packages')).sort((a, b) => (a === 'core' ? -1 : b === 'core' ? 1 : a.localeCompare(b)))
  return packages.map((name) => join(root, 'packages', name, 'src', 'errors.ts')).filter((file) => existsSync(file))
}

function isCatalogue(value: unknown): value is ErrorCatalogue {
  const candidate = value as Partial<ErrorCatalogue> | null
  return typeof candidate?.package === 'string' && typeof candidate.entries === 'object' && typeof candidate.create === 'function'
}

/** The catalogues each catalogue file exports, with the file they come from. */
export async function loadCatalogues(): Promise<Array<{ file: string; catalogue: ErrorCatalogue }>> {
  const found: Array<{ file: string; catalogue: ErrorCatalogue }> = []
  for (const file of catalogueFiles()) {
    const exports = (await import(pathToFileURL(file).href)) as Record<string, unknown>
    for (const value of new Set(Object.values(exports))) if (isCatalogue(value)) found.push({ file, catalogue: value })
  }
  return found
}

/** The text of docs/errors.md for the current catalogues. */
export async function renderErrorsDoc(): Promise<string> {
  const lines = [
    '# Error codes',
    '',
    'Every error Plinth raises is a `PlinthError` with a stable `code` that is never reused, a',
    'message saying what is wrong and where, and a `hint` saying what to do. Each package owns its',
    'codes, in its `src/errors.ts` (made with `defineErrors`); this page is generated from all of',
    'them (`npm run docs:errors`). Where a code describes something other than a server fault, its',
    'HTTP status is given: REST answers with it, and the WebSocket, gRPC and GraphQL servers map it.',
    '',
    '```ts',
    "import { isPlinthError } from '@plinth/core'",
    "if (isPlinthError(err, 'PLINTH_ERR_INVALID_CONFIG')) process.exitCode = 78",
    '```',
    '',
  ]
  for (const { file, catalogue } of await loadCatalogues()) {
    lines.push(`## ${catalogue.package}`, '', `From \`${file.slice(root.length)}\`.`, '')
    for (const [code, entry] of Object.entries(catalogue.entries)) {
      const status = entry.status === undefined ? '' : ` HTTP status ${entry.status}.`
      lines.push(`### ${code}`, '', `**${entry.title}.** ${entry.hint}${status}`, '')
    }
  }
  return lines.join('\n')
}

if (process.argv[1]?.endsWith('errors-doc.ts')) writeFileSync(new URL('../docs/errors.md', import.meta.url), await renderErrorsDoc())
