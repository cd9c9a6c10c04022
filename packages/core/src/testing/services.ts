/**
 * Whether a server a test needs (PostgreSQL, Redis, NATS...) is reachable. Tests that need one
 * skip with the reason when it is not; with PLINTH_REQUIRE_SERVICES=1 (as CI sets) they fail
 * instead, so that a stopped server can never turn a red suite green.
 */
import { connect } from 'node:net'

export interface ServiceAvailability {
  readonly name: string
  readonly available: boolean
  /** Why it is not available; empty when it is. */
  readonly reason: string
  /** A test title with the skip reason appended when the service is missing. */
  title(text: string): string
}

export interface ProbeServiceOptions {
  /** Deadline of the probe, in milliseconds. Default 2 000. */
  timeout?: number
  /** Where PLINTH_REQUIRE_SERVICES is read. Default process.env. */
  env?: NodeJS.ProcessEnv
  /** How to start the service, for the message. Default: ../shared/services.sh */
  howToStart?: string
}

function tcpProbe(host: string, port: number, timeout: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port })
    const timer = setTimeout(() => socket.destroy(new Error(`no answer within ${timeout} ms`)), timeout)
    socket.once('connect', () => {
      clearTimeout(timer)
      socket.end()
      resolve()
    })
    socket.once('error', (error) => {
      clearTimeout(timer)
      reject(error)
    })
  })
}

/**
 * Probes a service: a TCP connection to `{ host, port }`, or your own `probe` function (a real
 * query) that rejects when the service is not usable. Resolves to whether it is available; when
 * it is not and PLINTH_REQUIRE_SERVICES=1, rejects instead, failing the test file.
 *
 * @example
 * const postgres = await probeService('PostgreSQL', { host: '127.0.0.1', port: 5432 })
 * describe.skipIf(!postgres.available)(postgres.title('on PostgreSQL'), () => {
 *   it('migrates', async () => { ... })
 * })
 */
export async function probeService(
  name: string,
  target: { host: string; port: number } | (() => Promise<unknown>),
  options: ProbeServiceOptions = {},
): Promise<ServiceAvailability> {
  const timeout = options.timeout ?? 2_000
  const env = options.env ?? process.env
  let reason = ''
  try {
    if (typeof target === 'function') {
      let timer: NodeJS.Timeout | undefined
      const deadline = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer within ${timeout} ms`)), timeout)))
      await Promise.race([target(), deadline]).finally(() => clearTimeout(timer))
    } else {
      await tcpProbe(target.host, target.port, timeout)
    }
  } catch (error) {
    const where = typeof target === 'function' ? '' : ` at ${target.host}:${target.port}`
    reason = `${name} is not reachable${where}: ${error instanceof Error ? error.message : String(error)}; start it with ${options.howToStart ?? '../shared/services.sh'}`
  }
  if (reason !== '' && env.PLINTH_REQUIRE_SERVICES === '1') {
    throw new Error(`PLINTH_REQUIRE_SERVICES=1 and ${reason}`)
  }
  return {
    name,
    available: reason === '',
    reason,
    title: (text) => (reason === '' ? text : `${text} (skipped: ${reason})`),
  }
}
