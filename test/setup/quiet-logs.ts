/**
 * Keeps a test's log lines with the test: what a logger writes straight to standard output's or
 * standard error's file descriptor (pino's default destination, bypassing process.stdout) goes
 * to the console instead, which Vitest prints only for a test that fails (`silent:
 * 'passed-only'`). By hand because no Vitest option reaches writes to a file descriptor.
 * LOG_LEVEL and destinations that tests give their loggers are untouched.
 */
import fs from 'node:fs'

const writeSync = fs.writeSync
const isLogLine = (data: unknown): data is string | Uint8Array => {
  const head = typeof data === 'string' ? data.slice(0, 10) : data instanceof Uint8Array ? Buffer.from(data.subarray(0, 10)).toString('utf8') : ''
  return head.startsWith('{"level":')
}

fs.writeSync = function quietWriteSync(this: unknown, fd: number, data: unknown, ...rest: unknown[]): number {
  if ((fd === 1 || fd === 2) && isLogLine(data)) {
    const text = typeof data === 'string' ? data : Buffer.from(data).toString('utf8')
    ;(fd === 1 ? console.log : console.error)(text.trimEnd())
    return typeof data === 'string' ? Buffer.byteLength(data) : data.byteLength
  }
  return (writeSync as (...args: unknown[]) => number).call(this, fd, data, ...rest)
}

const write = fs.write
fs.write = function quietWrite(this: unknown, fd: number, data: unknown, ...rest: unknown[]): void {
  if ((fd === 1 || fd === 2) && isLogLine(data)) {
    const done = rest.at(-1) as (error: Error | null, written: number, data: unknown) => void
    const written = fs.writeSync(fd, data as string)
    process.nextTick(done, null, written, data)
    return
  }
  ;(write as (...args: unknown[]) => void).call(this, fd, data, ...rest)
} as typeof fs.write
