import { Writable } from 'node:stream'

/** A record as pino writes it: the level, the message, and whatever fields the line carries. */
export type LogRecord = { level: number; msg: string } & Record<string, any>

/** A pino destination that keeps every line written to it: raw, parsed, or those of one level. */
export function captureLog() {
  const lines: string[] = []
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(...chunk.toString('utf8').split('\n').filter((line) => line !== ''))
      done()
    },
  })
  const records = () => lines.map((line) => JSON.parse(line) as LogRecord)
  return { stream, lines, records, at: (level: number) => records().filter((r) => r.level === level) }
}
