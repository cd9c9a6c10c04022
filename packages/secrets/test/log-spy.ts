import { Writable } from 'node:stream'
import { createLogger, type Logger } from '@plinth/core'

/** A logger whose JSON lines the test reads back. */
export function logSpy(): { log: Logger; lines: string[]; records: () => Array<Record<string, unknown>> } {
  const lines: string[] = []
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(...chunk.toString('utf8').split('\n').filter(Boolean))
      done()
    },
  })
  const log = createLogger({ name: 'test', level: 'debug', pretty: false, destination })
  return { log, lines, records: () => lines.map((line) => JSON.parse(line) as Record<string, unknown>) }
}

/** Resolves once `predicate` holds, checking every 20 ms; rejects with `what` after `within` ms. */
export async function until(predicate: () => boolean, what: string, within = 8_000): Promise<void> {
  const deadline = Date.now() + within
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}
