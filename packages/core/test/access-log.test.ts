import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pino, type LoggerOptions } from 'pino'
import { afterEach, describe, expect, it } from 'vitest'
import { AccessLog, quoteRoute } from '../src/index.js'

/** A logger whose every write is kept as it arrived. */
function capture(options: LoggerOptions = {}) {
  const writes: string[] = []
  const logger = pino({ level: 'info', timestamp: () => ',"time":1700000000000', ...options }, { write: (chunk: string) => void writes.push(chunk) })
  return { logger, writes }
}

const orders = quoteRoute('/orders/:id')

describe('the access log', () => {
  it('writes the very line pino would, through the same logger, bindings and message key included', () => {
    for (const options of [{}, { messageKey: 'message' }, { base: { service: 'shop' } }, { formatters: { level: (label: string) => ({ level: label }) } }] as LoggerOptions[]) {
      const own = capture(options)
      const ref = capture(options)
      const log = own.logger.child({ component: 'http-server' })
      new AccessLog(log).write('info', 'req-1', 'GET', '/orders/7?page=2', orders, 200, 1.236, false)
      ref.logger.child({ component: 'http-server' }).info(
        { reqId: 'req-1', method: 'GET', url: '/orders/7?page=2', route: '/orders/:id', statusCode: 200, durationMs: 1.24 },
        'GET /orders/7?page=2 200 1.2 ms',
      )
      expect(own.writes).toEqual(ref.writes)
    }
  })

  it('escapes what JSON must escape in a URL, and marks an aborted request', () => {
    const { logger, writes } = capture()
    new AccessLog(logger).write('warn', 'req-2', 'POST', '/search?q="a\\b"\u0001', orders, 499, 12, true)
    const line = JSON.parse(writes[0]!) as Record<string, unknown>
    expect(line).toMatchObject({ level: 40, url: '/search?q="a\\b"\u0001', statusCode: 499, durationMs: 12, aborted: true, msg: 'POST /search?q="a\\b"\u0001 aborted 12.0 ms' })
  })

  it('writes nothing below the logger\'s level, and follows the level as it changes', () => {
    const { logger, writes } = capture()
    const access = new AccessLog(logger)
    access.write('debug', 'req-3', 'GET', '/', orders, 200, 1, false)
    expect(writes).toEqual([])
    logger.level = 'debug'
    access.write('debug', 'req-3', 'GET', '/', orders, 200, 1, false)
    expect(writes).toHaveLength(1)
  })

  it('leaves the line to pino when a mixin, a serializer or redaction shapes it', () => {
    const mixed = capture({ mixin: () => ({ region: 'eu' }) })
    new AccessLog(mixed.logger).write('info', 'req-4', 'GET', '/a', orders, 200, 1, false)
    expect(JSON.parse(mixed.writes[0]!)).toMatchObject({ region: 'eu', reqId: 'req-4' })

    const redacted = capture({ redact: ['url'] })
    new AccessLog(redacted.logger).write('info', 'req-5', 'GET', '/reset?token=s3cret', orders, 200, 1, false)
    expect(JSON.parse(redacted.writes[0]!)).toMatchObject({ url: '[Redacted]', reqId: 'req-5' })
  })

  describe('to a file destination', () => {
    let dir: string | undefined
    afterEach(() => {
      if (dir) rmSync(dir, { recursive: true, force: true })
    })

    it('writes lines in batches, every one whole and in order, all of them by close()', () => {
      dir = mkdtempSync(join(tmpdir(), 'plinth-access-'))
      const file = join(dir, 'access.log')
      const destination = pino.destination({ dest: file, sync: true })
      const access = new AccessLog(pino({ level: 'info' }, destination))
      for (let i = 0; i < 500; i++) access.write('info', `req-${i}`, 'GET', `/orders/${i}`, orders, 200, i / 7, false)
      // 500 lines are over 16 KiB: some went out already, in whole lines.
      const early = readFileSync(file, 'utf8')
      expect(early.length).toBeGreaterThan(0)
      expect(early.endsWith('\n')).toBe(true)
      access.close()
      const lines = readFileSync(file, 'utf8').trimEnd().split('\n').map((line) => JSON.parse(line) as { reqId: string; url: string })
      expect(lines.map((line) => line.reqId)).toEqual(Array.from({ length: 500 }, (_, i) => `req-${i}`))
      destination.end()
    })
  })
})
