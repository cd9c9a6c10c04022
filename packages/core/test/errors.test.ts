import { readFileSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { renderErrorsDoc } from '../../../scripts/errors-doc.js'
import { PlinthError, errorCatalogue, type PlinthErrorCode } from '../src/index.js'

const root = new URL('../../../', import.meta.url).pathname

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    if (statSync(path).isDirectory()) return name === 'node_modules' || name === 'dist' ? [] : sources(path)
    return path.endsWith('.ts') ? [path] : []
  })
}

describe('the error catalogue', () => {
  it('is documented exactly as docs/errors.md says (npm run docs:errors regenerates it)', () => {
    expect(readFileSync(join(root, 'docs/errors.md'), 'utf8')).toBe(renderErrorsDoc())
  })

  it('has only codes that some package raises', () => {
    const text = readdirSync(join(root, 'packages'))
      .flatMap((pkg) => sources(join(root, 'packages', pkg, 'src')))
      .filter((file) => !file.endsWith('/errors.ts'))
      .map((file) => readFileSync(file, 'utf8'))
      .join('\n')
    const unused = Object.keys(errorCatalogue).filter((code) => !text.includes(`'${code}'`))
    expect(unused).toEqual([])
  })

  it('uses stable codes with a title and a hint that says what to do', () => {
    for (const [code, entry] of Object.entries(errorCatalogue)) {
      expect(code).toMatch(/^PLINTH_ERR_[A-Z0-9_]+$/)
      expect(entry.title.length).toBeGreaterThan(5)
      expect(entry.hint.length).toBeGreaterThan(20)
    }
  })

  it('gives every error its code, its catalogue hint, and a description with the causes', () => {
    const code: PlinthErrorCode = 'PLINTH_ERR_START_FAILED'
    const error = new PlinthError(code, '"db" failed to start', { cause: new Error('ECONNREFUSED') })
    expect(error.hint).toBe(errorCatalogue[code].hint)
    expect(error.describe()).toBe(`PLINTH_ERR_START_FAILED: "db" failed to start\n  hint: ${errorCatalogue[code].hint}\n  cause: Error: ECONNREFUSED`)
  })
})
