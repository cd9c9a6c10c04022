/**
 * A port nothing listens on, for a test that must point a server's address somewhere free (what
 * `plinth validate` sees before a rollout) rather than let the server pick one with port 0.
 */
import { createServer } from 'node:net'

/**
 * Binds port 0 on `host`, reads the port the system gave, and lets it go. Another process may
 * take it in between; tests use it where that race is harmless.
 *
 * @example
 * const port = await freePort()
 * await app.preflight({ env: { WS_PORT: String(port) }, only: 'websocket' })
 */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  const probe = createServer()
  await new Promise<void>((resolve, reject) => probe.once('error', reject).listen(0, host, resolve))
  const { port } = probe.address() as { port: number }
  await new Promise((resolve) => probe.close(resolve))
  return port
}
