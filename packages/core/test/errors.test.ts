import { readFileSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { renderErrorsDoc } from '../../../scripts/errors-doc.js'
import { PlinthError, defineErrors, errorCatalogue, errorFields, loadedCatalogues, reportError, statusOf, type PlinthErrorCode } from '../src/index.js'

const root = new URL('../../../', import.meta.url).pathname

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    if (statSync(path).isDirectory()) return name === 'node_modules' || name === 'dist' ? [] : sources(path)
    return path.endsWith('.ts') ? [path] : []
  })
}

describe('the error catalogue', () => {
  it('is documented exactly as docs/errors.md says (npm run docs:errors regenerates it)', async () => {
    expect(readFileSync(join(root, 'docs/errors.md'), 'utf8')).toBe(await renderErrorsDoc())
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

describe('defineErrors', () => {
  const errors = defineErrors('@plinth/errors-test', {
    PLINTH_ERR_TEST_NOT_FOUND: { title: 'Nothing there', hint: 'Look somewhere else, then ask again.', status: 404 },
    PLINTH_ERR_TEST_BROKEN: { title: 'It broke', hint: 'Read the cause below and fix it.' },
  })

  it('makes errors that carry the entry\'s hint and status, and recognises its own codes', () => {
    const error = errors.create('PLINTH_ERR_TEST_NOT_FOUND', 'no order 7', { details: { id: 7 } })
    expect(error).toBeInstanceOf(PlinthError)
    expect([error.code, error.hint, error.status, error.details]).toEqual(['PLINTH_ERR_TEST_NOT_FOUND', 'Look somewhere else, then ask again.', 404, { id: 7 }])
    expect(statusOf(error)).toBe(404)
    expect(statusOf(errors.create('PLINTH_ERR_TEST_BROKEN', 'boom'))).toBe(500)
    expect(errors.is(error)).toBe(true)
    expect(errors.is(error, 'PLINTH_ERR_TEST_BROKEN')).toBe(false)
    expect(errors.is(new PlinthError('PLINTH_ERR_START_FAILED', 'x'))).toBe(false)
    expect(loadedCatalogues().map((catalogue) => catalogue.package)).toContain('@plinth/errors-test')
  })

  it('refuses a code another package owns, a malformed code and a status that is not an HTTP error', () => {
    expect(() => defineErrors('@plinth/thief', { PLINTH_ERR_START_FAILED: { title: 'x', hint: 'y' } })).toThrow(/already belongs to @plinth\/core/)
    expect(() => defineErrors('@plinth/thief', { NOT_A_CODE: { title: 'x', hint: 'y' } })).toThrow(/must match PLINTH_ERR_/)
    expect(() => defineErrors('@plinth/thief', { PLINTH_ERR_THIEF: { title: 'x', hint: 'y', status: 200 } })).toThrow(/status 200/)
  })
})

describe('reportError', () => {
  it('prints a PlinthError with its hint, another error with its stack, and anything else as text', () => {
    const plinth = new PlinthError('PLINTH_ERR_START_FAILED', '"db" failed to start')
    expect(reportError(plinth)).toBe(plinth.describe())
    const bug = new TypeError('x is undefined')
    expect(reportError(bug)).toBe(bug.stack)
    expect(reportError('gone')).toBe('gone')
  })
})

describe('errorFields', () => {
  it('logs an expected PlinthError (one with an HTTP status) by its code and hint, without the error and its stack', () => {
    const unavailable = new PlinthError('PLINTH_ERR_CIRCUIT_OPEN', 'the "db" circuit is open', { hint: 'Wait for the trial call.' })
    expect(unavailable.status).toBe(503)
    expect(errorFields(unavailable)).toEqual({ code: 'PLINTH_ERR_CIRCUIT_OPEN', hint: 'Wait for the trial call.' })
  })

  it('keeps any other error whole under err, stack included: a server fault or a thrown Error is a bug to report', () => {
    const fault = new PlinthError('PLINTH_ERR_START_FAILED', '"db" failed to start')
    expect(fault.status).toBeUndefined()
    expect(errorFields(fault)).toEqual({ err: fault })
    const bug = new TypeError('x is undefined')
    expect(errorFields(bug)).toEqual({ err: bug })
  })
})
