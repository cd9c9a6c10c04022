/**
 * A second instance started beside a first (every port taken): the process names each server
 * whose port is in use, with the port and the variable to change, in one go and once, without a
 * stack trace, and exits 1 before anything started. The ports are held by the test itself.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer, type Server } from 'node:net'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { expect, it } from 'vitest'
import { spawnService } from './process.js'

const main = fileURLToPath(new URL('../src/main.ts', import.meta.url))
const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href

const servers = [
  { component: 'http-server', server: 'HTTP', env: 'HTTP_PORT' },
  { component: 'ws-server', server: 'WebSocket', env: 'WS_PORT' },
  { component: 'grpc-server', server: 'gRPC', env: 'GRPC_PORT' },
  { component: 'graphql-server', server: 'GraphQL', env: 'GRAPHQL_PORT' },
  { component: 'metrics-server', server: 'metrics', env: 'METRICS_PORT' },
] as const

const occurrences = (text: string, part: string) => text.split(part).length - 1

it('names every server whose port is in use, its port and its variable, once and without a stack, and exits 1', async () => {
  const held: Server[] = []
  const cwd = await mkdtemp(join(tmpdir(), 'plinth-reference-ports-'))
  try {
    const ports: Record<string, number> = {}
    for (const { env } of servers) {
      const server = createServer()
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
      held.push(server)
      ports[env] = (server.address() as { port: number }).port
    }
    const env = { PATH: process.env.PATH, APP_ENV: 'development', DATA_DIR: join(cwd, 'data'), ...Object.fromEntries(Object.entries(ports).map(([name, port]) => [name, String(port)])) }
    const service = spawnService(['--conditions=@plinth/source', '--import', tsx, main], { cwd, env })
    expect(await service.exited).toBe(1)
    const output = service.output()

    expect(output).toContain('start-up refused: 5 servers cannot listen, so nothing was started:')
    for (const { component, server, env: variable } of servers) {
      const port = ports[variable]!
      const line = `  - ${component}: PLINTH_ERR_LISTEN_FAILED: the ${server} server cannot listen on 127.0.0.1:${port} (port from env ${variable}): the port is already in use`
      expect(output.split('\n')).toContain(line)
      expect(output.split('\n')).toContain(`    fix: Set ${variable} to a free port (0 picks one), or stop the process holding ${port}.`)
      expect(occurrences(output, `127.0.0.1:${port}`)).toBe(1)
      expect(occurrences(output, `Set ${variable} `)).toBe(1)
    }
    // An operational failure: no stack, no repeated cause, no list of what waited on it.
    expect(output).not.toMatch(/"stack"|\n\s+at |caused by|No address added|never started/)
    // Nothing started: no migration ran, no component was rolled back.
    expect(output).not.toMatch(/applying migration|rolled back/)
  } finally {
    await Promise.all(held.map((server) => new Promise((resolve) => server.close(resolve))))
    await rm(cwd, { recursive: true, force: true })
  }
}, 60_000)
