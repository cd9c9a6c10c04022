// Writes docs/errors.md from the error catalogue, so the two cannot drift: the catalogue test
// fails when the file is not what this script would write. Run: npm run docs:errors
import { writeFileSync } from 'node:fs'
import { errorCatalogue } from '../packages/core/src/errors.js'

/** The text of docs/errors.md for the current catalogue. */
export function renderErrorsDoc(): string {
  const lines = [
    '# Error codes',
    '',
    'Every error Plinth raises is a `PlinthError` with a stable `code` that is never reused, a',
    'message saying what is wrong and where, and a `hint` saying what to do. This page is generated',
    'from the catalogue in `packages/core/src/errors.ts` (`npm run docs:errors`).',
    '',
    '```ts',
    "import { isPlinthError } from '@plinth/core'",
    "if (isPlinthError(err, 'PLINTH_ERR_INVALID_CONFIG')) process.exitCode = 78",
    '```',
    '',
  ]
  for (const [code, entry] of Object.entries(errorCatalogue)) {
    lines.push(`## ${code}`, '', `**${entry.title}.** ${entry.hint}`, '')
  }
  return lines.join('\n')
}

if (process.argv[1]?.endsWith('errors-doc.ts')) writeFileSync(new URL('../docs/errors.md', import.meta.url), renderErrorsDoc())
