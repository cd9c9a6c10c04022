import { describe, expect, it } from 'vitest'
import { PlinthError, statusOf } from '../src/index.js'

describe('statusOf', () => {
  it('reads an HTTP status from status or statusCode, within 400-599 only', () => {
    expect(statusOf(Object.assign(new Error('gone'), { status: 404 }))).toBe(404)
    expect(statusOf(Object.assign(new Error('busy'), { statusCode: 503 }))).toBe(503)
    expect(statusOf(Object.assign(new Error('odd'), { status: 200 }))).toBe(500)
    expect(statusOf(Object.assign(new Error('odd'), { status: '404' }))).toBe(500)
  })

  it('maps PlinthError codes that are not server faults', () => {
    expect(statusOf(new PlinthError('PLINTH_ERR_CIRCUIT_OPEN', 'db failing'))).toBe(503)
    expect(statusOf(new PlinthError('PLINTH_ERR_INVALID_OPTION', 'bad limit'))).toBe(400)
    expect(statusOf(new PlinthError('PLINTH_ERR_NO_SCOPE', 'no scope'))).toBe(500)
  })

  it('treats validation errors (an issues array) as 400 and timeouts as 504', () => {
    expect(statusOf(Object.assign(new Error('invalid'), { issues: [{ message: 'Required' }] }))).toBe(400)
    expect(statusOf(new DOMException('timed out', 'TimeoutError'))).toBe(504)
  })

  it('calls everything else a 500', () => {
    expect(statusOf(new Error('boom'))).toBe(500)
    expect(statusOf('a string')).toBe(500)
    expect(statusOf(null)).toBe(500)
  })
})
