/**
 * The WebSocket server's preflight checks, one set per wsServer(): its address answers a real
 * WebSocket handshake (a running instance) or is free for it to listen on (before a rollout),
 * and, when the app gives the server a pub/sub backend, a probe published on it comes back
 * within the check's deadline, as a broadcast from another instance would.
 */
import { randomUUID } from 'node:crypto'
import { createServer } from 'node:net'
import { definePreflight, dialHost, type PreflightCheck, type PreflightOutcome, type Token } from '@plinth/core'
import { WebSocket } from 'ws'
import { wsServerProviders } from './component.js'
import { WsPubSub, type PubSub } from './pubsub.js'
import type { WsServer } from './server.js'


type Handshake = { kind: 'open' } | { kind: 'http'; status: number } | { kind: 'error'; code: string; message: string }

function handshake(url: string, signal: AbortSignal): Promise<Handshake> {
  return new Promise((resolve) => {
    const socket = new WebSocket(url)
    const done = (result: Handshake) => {
      signal.removeEventListener('abort', abort)
      socket.removeAllListeners()
      socket.on('error', () => undefined)
      socket.terminate()
      resolve(result)
    }
    const abort = () => done({ kind: 'error', code: 'ETIMEDOUT', message: 'no handshake before the deadline' })
    signal.addEventListener('abort', abort, { once: true })
    socket.once('open', () => done({ kind: 'open' }))
    socket.once('unexpected-response', (_req, res) => done({ kind: 'http', status: res.statusCode ?? 0 }))
    socket.once('error', (error: Error & { code?: string }) => done({ kind: 'error', code: error.code ?? 'ERROR', message: error.message }))
  })
}

/** Whether the server could listen there: binds for a moment and lets go. */
function bindable(host: string, port: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const probe = createServer()
    probe.once('error', (error: Error & { code?: string }) => resolve(error.code ?? error.message))
    probe.listen({ host, port, exclusive: true }, () => probe.close(() => resolve(undefined)))
  })
}

function serverCheck(target: Token<unknown>): PreflightCheck {
  return {
    category: 'websocket',
    name: 'server reachable',
    run: async (context): Promise<PreflightOutcome> => {
      const { signal } = context
      const { host, port, path, source } = ((await context.resolve(target)) as WsServer).address()
      if (port === 0) return { status: 'pass', found: `port 0 (from ${source}): a free port is picked at start` }
      const url = `ws://${dialHost(host)}:${port}${path}`
      const answer = await handshake(url, signal)
      if (answer.kind === 'open') return { status: 'pass', found: `${url} answered the WebSocket handshake (a running instance)` }
      if (answer.kind === 'http') {
        return { status: 'fail', found: `${url} answered HTTP ${answer.status} instead of upgrading to WebSocket`, fix: `another server holds port ${port} (from ${source}), or WS_PORT points at it: give the WebSocket server a port of its own` }
      }
      if (answer.code === 'ECONNREFUSED') {
        // Nothing listens yet (before a rollout): the server must be able to.
        const problem = await bindable(host, port)
        if (problem === undefined) return { status: 'pass', found: `nothing listens on ${url} yet; ${host}:${port} is free for the server` }
        const why = problem === 'EADDRNOTAVAIL' ? `${host} is not an address of this machine` : problem === 'EACCES' ? `port ${port} needs privileges` : problem
        return { status: 'fail', found: `nothing answers on ${url}, and the server cannot listen on ${host}:${port}: ${why}`, fix: `set WS_PORT (or ws.port / ws.host) to an address of this machine the service may bind (now from ${source})` }
      }
      return { status: 'fail', found: `${url}: ${answer.code === 'ETIMEDOUT' ? answer.message : `${answer.code} ${answer.message}`}`, fix: `find what holds ${host}:${port} without answering (from ${source}), or correct WS_PORT / ws.host` }
    },
  }
}

function pubsubCheck(): PreflightCheck {
  return {
    category: 'websocket',
    name: 'pub/sub across instances',
    run: async (context): Promise<PreflightOutcome> => {
      const pubsub: PubSub = await context.resolve(WsPubSub)
      if (pubsub.connectForCheck) context.onCleanup(await pubsub.connectForCheck(context.signal))
      // A channel of the run's own: no client of a running instance listens on it.
      const channel = `plinth:ws:preflight:${randomUUID()}`
      const probe = randomUUID()
      let arrived!: () => void
      const received = new Promise<void>((done) => (arrived = done))
      const began = performance.now()
      const off = await pubsub.subscribe(channel, (payload) => payload === probe && arrived())
      context.onCleanup(off)
      await pubsub.publish(channel, probe)
      await received
      return { status: 'pass', found: `a probe published on ${pubsub.constructor.name} came back in ${Math.round(performance.now() - began)} ms` }
    },
  }
}

definePreflight(({ providers }) => {
  const servers = providers.filter((p) => wsServerProviders.has(p))
  if (servers.length === 0) return []
  const shared = providers.some((p) => p.provides.id === WsPubSub.id)
  const single: PreflightCheck = { category: 'websocket', name: 'pub/sub across instances', run: () => ({ status: 'pass', found: 'not configured (no WsPubSub): broadcasts reach this instance\'s clients only' }) }
  return [...servers.map((p) => serverCheck(p.provides as Token<unknown>)), shared ? pubsubCheck() : single]
})
