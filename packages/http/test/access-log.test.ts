import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pino, type LoggerOptions } from 'pino'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { AccessLog } from '../src/access-log.js'

/** A logger whose every write is kept as it arrived. */
function capture(options: LoggerOptions = {}) {
  const writes: string[] = []
  const logger = pino({ level: 'info', timestamp: () => ',"time":1700000000000', ...options }, { write: (chunk: string) => void writes.push(chunk) })
  return { logger, writes }
}

const route = '/orders/:id'

describe('the access log', () => {
  it('writes the very line pino would, through the same logger, bindings and message key included', () => {
    const cases: [options: LoggerOptions, status: number, durationMs: number, field: number][] = [
      [{}, 200, 1.236, 1.24],
      [{ messageKey: 'message' }, 201, 12, 12],
      [{ base: { service: 'shop' } }, 404, 0.5, 0.5],
      [{ formatters: { level: (label: string) => ({ level: label }) } }, 500, 7.05, 7.05],
    ]
    for (const [options, status, durationMs, field] of cases) {
      const own = capture(options)
      const ref = capture(options)
      const log = own.logger.child({ component: 'http-server' })
      const access = new AccessLog(log)
      access.write('info', access.shape('GET', route, status), 'req-1', '/orders/7?page=2', durationMs, false)
      ref.logger.child({ component: 'http-server' }).info(
        { reqId: 'req-1', method: 'GET', url: '/orders/7?page=2', route, statusCode: status, durationMs: field },
        'request completed',
      )
      expect(own.writes).toEqual(ref.writes)
    }
  })

  it('writes an aborted request as pino would', () => {
    const own = capture()
    const ref = capture()
    const access = new AccessLog(own.logger)
    access.write('info', access.shape('POST', route, 200), 'req-8', '/orders/8', 3.5, true)
    ref.logger.info({ reqId: 'req-8', method: 'POST', url: '/orders/8', route, statusCode: 200, durationMs: 3.5, aborted: true }, 'request aborted')
    expect(own.writes).toEqual(ref.writes)
  })

  it('writes a request that lasted days as pino would', () => {
    const own = capture()
    const ref = capture()
    const access = new AccessLog(own.logger)
    const days = 3 * 86_400_000 + 0.256
    access.write('info', access.shape('GET', '/socket', 101), 'req-9', '/socket', days, false)
    ref.logger.info({ reqId: 'req-9', method: 'GET', url: '/socket', route: '/socket', statusCode: 101, durationMs: Math.round(days * 100) / 100 }, 'request completed')
    expect(own.writes).toEqual(ref.writes)
  })

  it('escapes what JSON must escape in a URL, and marks an aborted request', () => {
    const { logger, writes } = capture()
    const access = new AccessLog(logger)
    access.write('warn', access.shape('POST', route, 499), 'req-2', '/search?q="a\\b"\u0001', 12, true)
    const line = JSON.parse(writes[0]!) as Record<string, unknown>
    expect(line).toMatchObject({ level: 40, url: '/search?q="a\\b"\u0001', statusCode: 499, durationMs: 12, aborted: true, msg: 'request aborted' })
  })

  it('writes each log\'s own message key with a shape another log made', () => {
    const plain = capture()
    const keyed = capture({ messageKey: 'message' })
    const first = new AccessLog(plain.logger)
    const second = new AccessLog(keyed.logger)
    const shape = first.shape('GET', route, 200)
    first.write('info', shape, 'req-1', '/orders/1', 1, false)
    second.write('info', shape, 'req-2', '/orders/2', 1, false)
    first.write('info', shape, 'req-3', '/orders/3', 1, false)
    expect([...plain.writes, ...keyed.writes].map((line) => JSON.parse(line) as Record<string, unknown>).map((line) => [line.reqId, line.msg ?? line.message])).toEqual([
      ['req-1', 'request completed'],
      ['req-3', 'request completed'],
      ['req-2', 'request completed'],
    ])
    expect(JSON.parse(keyed.writes[0]!)).not.toHaveProperty('msg')
  })

  it('writes nothing below the logger\'s level, and follows the level as it changes', () => {
    const { logger, writes } = capture()
    const access = new AccessLog(logger)
    access.write('debug', access.shape('GET', route, 200), 'req-3', '/', 1, false)
    expect(writes).toEqual([])
    logger.level = 'debug'
    access.write('debug', access.shape('GET', route, 200), 'req-3', '/', 1, false)
    expect(writes).toHaveLength(1)
  })

  it('follows bindings set after it was made', () => {
    const { logger, writes } = capture()
    const access = new AccessLog(logger)
    const shape = access.shape('GET', route, 200)
    access.write('info', shape, 'req-6', '/', 1, false)
    logger.setBindings({ tenant: 'acme' })
    access.write('info', shape, 'req-7', '/', 1, false)
    expect(writes.map((line) => (JSON.parse(line) as { tenant?: string }).tenant)).toEqual([undefined, 'acme'])
  })

  it('leaves the line to pino when a mixin, a serializer or redaction shapes it', () => {
    const mixed = capture({ mixin: () => ({ region: 'eu' }) })
    const access = new AccessLog(mixed.logger)
    access.write('info', access.shape('GET', route, 200), 'req-4', '/a', 1, false)
    expect(JSON.parse(mixed.writes[0]!)).toMatchObject({ region: 'eu', reqId: 'req-4', route, statusCode: 200 })

    const redacted = capture({ redact: ['url'] })
    const other = new AccessLog(redacted.logger)
    other.write('info', other.shape('GET', route, 200), 'req-5', '/reset?token=s3cret', 1, false)
    expect(JSON.parse(redacted.writes[0]!)).toMatchObject({ url: '[Redacted]', reqId: 'req-5' })
  })

  describe('to a file destination', () => {
    let dir: string | undefined
    afterEach(() => {
      if (dir) rmSync(dir, { recursive: true, force: true })
    })

    /** An access log to a file through pino's synchronous file destination, which takes batches. */
    function openFile(options: { minLength?: number } = {}, loggerOptions: LoggerOptions = {}) {
      dir = mkdtempSync(join(tmpdir(), 'plinth-access-'))
      const file = join(dir, 'access.log')
      const destination = pino.destination({ dest: file, sync: true, ...options })
      const logger = pino({ level: 'info', ...loggerOptions }, destination)
      const access = new AccessLog(logger)
      const read = () => readFileSync(file, 'utf8').trimEnd().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>)
      return { file, destination, logger, access, shape: access.shape('GET', route, 200), read }
    }

    it('writes lines in batches, every one whole and in order, all of them by close()', () => {
      const { file, destination, access, shape } = openFile()
      for (let i = 0; i < 500; i++) access.write('info', shape, `req-${i}`, `/orders/${i}`, i / 7, false)
      // 500 lines are over 16 KiB: some went out already, in whole lines.
      const early = readFileSync(file, 'utf8')
      expect(early.length).toBeGreaterThan(0)
      expect(early.endsWith('\n')).toBe(true)
      access.close()
      const lines = readFileSync(file, 'utf8').trimEnd().split('\n').map((line) => JSON.parse(line) as { reqId: string; url: string })
      expect(lines.map((line) => line.reqId)).toEqual(Array.from({ length: 500 }, (_, i) => `req-${i}`))
      destination.end()
    })

    it('writes text outside ASCII as pino does, in UTF-8, beside ASCII lines of the same batch', () => {
      const { destination, logger, access, shape, read } = openFile()
      const city = logger.child({ city: 'Zürich' })
      const local = new AccessLog(city)
      access.write('info', shape, 'req-a', '/orders/1', 1, false, performance.now())
      // Node gives a URL's bytes as Latin-1 characters; pino writes them as UTF-8, and so does the log.
      access.write('info', shape, 'req-b', '/caf\u00e9?q="x"', 1, false, performance.now())
      local.write('info', local.shape('GET', '/ünïcode', 200), 'req-\u00fc', '/ok', 1, false, performance.now())
      access.write('info', shape, 'req-c', '/orders/3', 1, false, performance.now())
      access.close()
      local.close()
      expect(read().map((line) => [line.reqId, line.url, line.city, line.route])).toEqual([
        ['req-a', '/orders/1', undefined, route],
        ['req-b', '/caf\u00e9?q="x"', undefined, route],
        ['req-c', '/orders/3', undefined, route],
        ['req-\u00fc', '/ok', 'Zürich', '/ünïcode'],
      ])
      destination.end()
    })

    it('writes every duration as pino would, those it keeps made and those it does not', () => {
      const { destination, access, shape, read } = openFile()
      const durations = Array.from({ length: 1800 }, (_, i) => i * 0.0137)
      for (const [i, ms] of durations.entries()) access.write('info', shape, `req-${i}`, '/orders/1', ms, false, performance.now())
      access.close()
      expect(read().map((line) => line.durationMs)).toEqual(durations.map((ms) => Math.round(ms * 100) / 100))
      destination.end()
    })

    it('follows the logger\'s level and bindings from the next millisecond of request ends', () => {
      const { destination, logger, access, shape, read } = openFile()
      const t = performance.now()
      access.write('info', shape, 'before', '/a', 1, false, t)
      logger.level = 'warn'
      access.write('info', shape, 'muted', '/b', 1, false, t + 2)
      access.write('warn', shape, 'loud', '/b', 1, false, t + 2)
      logger.level = 'info'
      logger.setBindings({ tenant: 'acme' })
      access.write('info', shape, 'bound', '/c', 1, false, t + 4)
      access.close()
      expect(read().map((line) => [line.reqId, line.level, line.tenant])).toEqual([
        ['before', 30, undefined],
        ['loud', 40, undefined],
        ['bound', 30, 'acme'],
      ])
      destination.end()
    })

    it('batches lines under a time format of the logger\'s own, each with its time', () => {
      const { destination, logger, access, shape, read } = openFile({}, { timestamp: pino.stdTimeFunctions.isoTime })
      const child = new AccessLog(logger.child({ city: 'Zürich' }))
      access.write('info', shape, 'req-1', '/orders/1', 1, false, performance.now())
      child.write('info', child.shape('GET', route, 200), 'req-2', '/orders/2', 1, false, performance.now())
      access.close()
      child.close()
      const lines = read()
      expect(lines.map((line) => [line.reqId, line.city])).toEqual([
        ['req-1', undefined],
        ['req-2', 'Zürich'],
      ])
      for (const line of lines) expect(Date.parse(line.time as string)).toBeGreaterThan(Date.now() - 60_000)
      destination.end()
    })

    it('hands a batch to a destination holding lines of its own through its write, after them', () => {
      const { destination, logger, access, shape, read } = openFile({ minLength: 4096 })
      logger.info('held by the destination')
      access.write('info', shape, 'req-1', '/orders/1', 1, false, performance.now())
      access.close()
      destination.flushSync()
      expect(read().map((line) => line.msg)).toEqual(['held by the destination', 'request completed'])
      destination.end()
    })

    it('dates a batched line by its request\'s end, as the wall clock has it', () => {
      const { file, destination, access, shape } = openFile()
      const before = Date.now()
      access.write('info', shape, 'req-now', '/orders/1', 1, false, performance.now())
      // A request that ended 1.5 s ago, and one whose end time is not known.
      access.write('info', shape, 'req-earlier', '/orders/2', 1, false, performance.now() - 1500)
      access.write('info', shape, 'req-unknown', '/orders/3', 1, false)
      const after = Date.now()
      access.close()
      const [now, earlier, unknown] = readFileSync(file, 'utf8').trimEnd().split('\n').map((line) => JSON.parse(line) as { time: number })
      // Within a millisecond either way: Date.now() truncates, the monotonic clock does not.
      expect(now!.time).toBeGreaterThanOrEqual(before - 1)
      expect(now!.time).toBeLessThanOrEqual(after + 1)
      expect(earlier!.time).toBeGreaterThanOrEqual(before - 1502)
      expect(earlier!.time).toBeLessThanOrEqual(after - 1498)
      expect(unknown!.time).toBeGreaterThanOrEqual(before)
      expect(unknown!.time).toBeLessThanOrEqual(after)
      destination.end()
    })

    it('follows a step of the wall clock from the batch after the one that saw it', () => {
      const { file, destination, access, shape } = openFile()
      const hour = 3_600_000
      const now = Date.now.bind(Date)
      try {
        // The operator (or NTP) moves the wall clock an hour ahead; the monotonic clock goes on.
        vi.spyOn(Date, 'now').mockImplementation(() => now() + hour)
        access.write('info', shape, 'req-seen', '/orders/1', 1, false, performance.now())
        access.flush()
        access.write('info', shape, 'req-after', '/orders/2', 1, false, performance.now())
        access.flush()
      } finally {
        vi.restoreAllMocks()
      }
      const [seen, after] = readFileSync(file, 'utf8').trimEnd().split('\n').map((line) => JSON.parse(line) as { time: number })
      expect(Math.abs(seen!.time - Date.now())).toBeLessThan(hour / 2)
      expect(Math.abs(after!.time - (Date.now() + hour))).toBeLessThan(hour / 2)
      access.close()
      destination.end()
    })
  })
})
