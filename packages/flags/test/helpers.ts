import { Writable } from 'node:stream'

/** A log destination whose JSON lines the test reads back. */
export function logLines(): { destination: Writable; lines: string[]; records: () => Array<Record<string, unknown>> } {
  const lines: string[] = []
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(...chunk.toString('utf8').split('\n').filter(Boolean))
      done()
    },
  })
  return { destination, lines, records: () => lines.map((line) => JSON.parse(line) as Record<string, unknown>) }
}

/** Resolves once `predicate` holds (it may be async), checking every 20 ms; rejects naming `what` after `within` ms. */
export async function until(predicate: () => boolean | Promise<boolean>, what: string, within = 8_000): Promise<void> {
  const deadline = Date.now() + within
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}
