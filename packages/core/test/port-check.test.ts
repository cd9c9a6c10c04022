/**
 * The ports an app listens on are checked before anything starts, and every one in use is
 * named at once; a port taken after the check still fails at listen with the same clear line,
 * logged as one line with its fix and no stack.
 */
import { createServer, type Server } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { bindNetServer, component, createApp, declaredListener, isPlinthError, listenOn, listensOn, metricsServer, type App, type ListenerSpec } from '../src/index.js'
import { neverStartedLine } from '../src/lifecycle/never-started.js'
import { startTestApp } from '../src/testing.js'

const held: Server[] = []
afterEach(async () => {
  await Promise.all(held.splice(0).map((server) => new Promise((resolve) => server.close(resolve))))
})

/** A port another "process" holds for the test: a listening node:net server on a free port. */
async function takenPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  held.push(server)
  return (server.address() as { port: number }).port
}

/** A server component as a package writes one: it declares its listener and listens through listenOn. */
function plainServer(name: string, spec: ListenerSpec) {
  return listensOn(
    component(name, {
      eager: true,
      create: () => ({ server: createServer() }),
      start: async (instance) => {
        await listenOn(app(), spec, {}, (address) => bindNetServer(instance.server, address))
      },
      stop: (instance) => new Promise<void>((resolve) => instance.server.close(() => resolve())),
    }),
    spec,
  )
}

// The servers above read the app they run in; set before each start.
let current: App | undefined
const app = () => current!

const admin = { server: 'admin', key: 'admin', env: 'ADMIN_PORT', port: 9101 } as const
const search = { server: 'search', key: 'search', env: 'SEARCH_PORT', port: 9102 } as const

describe('the port check before start', () => {
  it('names every server whose port is in use, with its port, its variable and the fix, before any component starts', async () => {
    const ports = { METRICS_PORT: await takenPort(), ADMIN_PORT: await takenPort(), SEARCH_PORT: await takenPort() }
    const started: string[] = []
    const worker = component('worker', { eager: true, create: () => ({}), start: () => void started.push('worker') })
    current = createApp({ name: 'busy', components: [worker, metricsServer(), plainServer('admin-server', admin), plainServer('search-server', search)], logging: { level: 'silent' } })
    const env = Object.fromEntries(Object.entries(ports).map(([name, port]) => [name, String(port)]))
    const failure = await startTestApp(current, { env }).catch((error: unknown) => error)

    expect(isPlinthError(failure, 'PLINTH_ERR_BOOT_FAILED')).toBe(true)
    const message = (failure as Error).message
    expect(message.split('\n')).toEqual([
      'start-up refused: 3 servers cannot listen, so nothing was started:',
      `  - metrics-server: PLINTH_ERR_LISTEN_FAILED: the metrics server cannot listen on 127.0.0.1:${ports.METRICS_PORT} (port from env METRICS_PORT): the port is already in use`,
      `    fix: Set METRICS_PORT to a free port (0 picks one), or stop the process holding ${ports.METRICS_PORT}.`,
      `  - admin-server: PLINTH_ERR_LISTEN_FAILED: the admin server cannot listen on 127.0.0.1:${ports.ADMIN_PORT} (port from env ADMIN_PORT): the port is already in use`,
      `    fix: Set ADMIN_PORT to a free port (0 picks one), or stop the process holding ${ports.ADMIN_PORT}.`,
      `  - search-server: PLINTH_ERR_LISTEN_FAILED: the search server cannot listen on 127.0.0.1:${ports.SEARCH_PORT} (port from env SEARCH_PORT): the port is already in use`,
      `    fix: Set SEARCH_PORT to a free port (0 picks one), or stop the process holding ${ports.SEARCH_PORT}.`,
    ])
    expect(started).toEqual([])
    expect(current.state).toBe('failed')
  })

  it('starts normally once the ports are free, and does not check port 0', async () => {
    const free = await takenPort()
    await new Promise((resolve) => held.pop()!.close(resolve))
    current = createApp({ name: 'free', components: [metricsServer(), plainServer('admin-server', admin)], logging: { level: 'silent' } })
    await using t = await startTestApp(current, { env: { METRICS_PORT: String(free), ADMIN_PORT: '0' } })
    expect(t.app.endpoints().map((e) => e.url)).toEqual([`http://127.0.0.1:${free}/metrics`])
  })

  it('names the other server of the app when two are given one port, rather than a process to stop', async () => {
    const port = String(await takenPort())
    await new Promise((resolve) => held.pop()!.close(resolve))
    current = createApp({ name: 'shared', components: [plainServer('admin-server', admin), plainServer('search-server', search)], logging: { level: 'silent' } })
    const failure = (await startTestApp(current, { env: { ADMIN_PORT: port, SEARCH_PORT: port } }).catch((error: unknown) => error)) as Error
    expect(failure.message).toContain(`search-server: PLINTH_ERR_LISTEN_FAILED: the search server cannot listen on 127.0.0.1:${port} (port from env SEARCH_PORT): the admin server of this app (admin-server) listens on 127.0.0.1:${port} (port from env ADMIN_PORT)`)
    expect(failure.message).toContain('fix: Set SEARCH_PORT to a port no other server of the app uses (0 picks a free one).')
    expect(failure.message).not.toContain('admin-server: PLINTH_ERR')
  })

  it('reports a port that is not a number beside the ports in use', async () => {
    const taken = await takenPort()
    current = createApp({ name: 'mixed', components: [metricsServer(), plainServer('admin-server', admin)], logging: { level: 'silent' } })
    const failure = (await startTestApp(current, { env: { METRICS_PORT: String(taken), ADMIN_PORT: 'eighty' } }).catch((error: unknown) => error)) as Error
    expect(failure.message).toContain('start-up refused: 2 servers cannot listen')
    expect(failure.message).toContain(`metrics-server: PLINTH_ERR_LISTEN_FAILED: the metrics server cannot listen on 127.0.0.1:${taken}`)
    expect(failure.message).toContain('admin-server: PLINTH_ERR_INVALID_CONFIG: admin port "eighty" (from env ADMIN_PORT) is not a port number')
  })

  it('finds what a server declared through the copy a module made of it', () => {
    expect(declaredListener(metricsServer())?.spec).toEqual({ server: 'metrics', key: 'metrics', env: 'METRICS_PORT', port: 9090 })
    expect(declaredListener(component('plain', { create: () => 1 }))).toBeUndefined()
  })
})

describe('a port taken between the check and the listen', () => {
  it('fails at listen with the same line, logged once as code, message and fix, without a stack', async () => {
    let port = 0
    const lines: string[] = []
    // Takes the port in its own start, after the check and before the admin server listens: the race the check cannot close.
    const squatter = component('squatter', {
      eager: true,
      create: () => createServer(),
      start: async (server) => {
        await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve))
      },
      stop: (server) => new Promise<void>((resolve) => server.close(() => resolve())),
    })
    const late = listensOn(
      component('admin-server', {
        eager: true,
        deps: { squatter },
        create: () => createServer(),
        start: async (server) => {
          await listenOn(app(), admin, {}, (address) => bindNetServer(server, address))
        },
        stop: (server) => new Promise<void>((resolve) => server.close(() => resolve())),
      }),
      admin,
    )
    port = await takenPort()
    await new Promise((resolve) => held.pop()!.close(resolve))
    current = createApp({ name: 'race', components: [squatter, late], logging: { level: 'error', destination: { write: (line: string) => void lines.push(line) } } })
    const failure = (await startTestApp(current, { env: { ADMIN_PORT: String(port) } }).catch((error: unknown) => error)) as Error

    const expected = `the admin server cannot listen on 127.0.0.1:${port} (port from env ADMIN_PORT): the port is already in use`
    expect(failure.message).toContain(`start-up failed (1 component); everything that had started was stopped again:\n  - admin-server: PLINTH_ERR_LISTEN_FAILED: ${expected}\n    fix: Set ADMIN_PORT`)
    const failed = lines.map((line) => JSON.parse(line) as Record<string, unknown>).filter((entry) => entry.component === 'admin-server')
    expect(failed).toEqual([
      expect.objectContaining({
        code: 'PLINTH_ERR_LISTEN_FAILED',
        msg: `admin-server failed: PLINTH_ERR_LISTEN_FAILED: ${expected}; fix: Set ADMIN_PORT to a free port (0 picks one), or stop the process holding ${port}.`,
      }),
    ])
    expect(failed[0]).not.toHaveProperty('err')
    expect(lines.join('\n')).not.toMatch(/"stack"|\n\s+at /)
  })

  it('still logs a failure of code (not operational) with its stack, to find the line', async () => {
    const lines: string[] = []
    const broken = component('broken', { eager: true, create: () => ({}), start: () => { throw new TypeError('x is undefined') } })
    current = createApp({ name: 'bug', components: [broken], logging: { level: 'error', destination: { write: (line: string) => void lines.push(line) } } })
    await expect(startTestApp(current)).rejects.toThrow('x is undefined')
    const failed = lines.map((line) => JSON.parse(line) as { component?: string; err?: { stack?: string } }).find((entry) => entry.component === 'broken')
    expect(failed?.err?.stack).toContain('TypeError: x is undefined')
  })
})

describe('the never-started line of a failed start', () => {
  it('names a lone component with what failed that it waited on', () => {
    expect(neverStartedLine([{ name: 'api', waitsOn: ['mailer'] }])).toBe('never started: api (waits on mailer)')
  })

  it('counts the components and names each once, however many instances waited', () => {
    const routes = Array.from({ length: 4 }, () => ({ name: 'http-routes', waitsOn: [] }))
    expect(neverStartedLine([{ name: 'auth-guard', waitsOn: [] }, ...routes, { name: 'http-server', waitsOn: ['grpc-server'] }])).toBe('never started (6): auth-guard, http-routes ×4, http-server (waits on grpc-server)')
  })
})
