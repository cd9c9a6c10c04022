/** Real HTTP servers that play service instances, and a log sink the tests read. */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Application, Health, component } from '@plinth/core'

export interface LogSink {
  readonly destination: { write(line: string): void }
  readonly lines: { level: number; msg: string }[]
  messages(level?: 'warn' | 'error' | 'info'): string[]
}

/** A pino destination that keeps each line, parsed. */
export function logSink(): LogSink {
  const lines: { level: number; msg: string }[] = []
  const levels = { info: 30, warn: 40, error: 50 }
  return {
    destination: { write: (line: string) => void lines.push(JSON.parse(line) as { level: number; msg: string }) },
    lines,
    messages: (level) => lines.filter((l) => level === undefined || l.level === levels[level]).map((l) => l.msg),
  }
}

export interface TestInstance {
  readonly url: string
  readonly server: Server
  /** Requests it answered, by path. */
  readonly seen: string[]
  /** What /health/ready answers. */
  ready: boolean
  /** Replaces the handler of every other path. */
  handle: (request: IncomingMessage, response: ServerResponse) => void
  close(): Promise<void>
}

/** An HTTP server on a free port that answers /health/ready and, by default, 200 "<name>" elsewhere. */
export async function testInstance(name: string): Promise<TestInstance> {
  const instance: TestInstance = {
    url: '',
    server: createServer((request, response) => {
      if (request.url === '/health/ready') {
        response.statusCode = instance.ready ? 200 : 503
        return void response.end(instance.ready ? 'ready' : 'not ready')
      }
      instance.seen.push(request.url ?? '')
      instance.handle(request, response)
    }),
    seen: [],
    ready: true,
    handle: (_request, response) => void response.end(name),
    close: () =>
      new Promise<void>((resolve) => {
        instance.server.closeAllConnections()
        instance.server.close(() => resolve())
      }),
  }
  await new Promise<void>((resolve) => instance.server.listen(0, '127.0.0.1', resolve))
  Object.assign(instance, { url: `http://127.0.0.1:${(instance.server.address() as AddressInfo).port}` })
  return instance
}

/**
 * A server component as @plinth/http's would be: listens at start, announces its address, and
 * records at stop what `atStop` finds (the registry's view while listeners are closing).
 */
export function serverComponent(endpoints: Record<string, string>, atStop?: () => Promise<void>) {
  return component('fake-server', {
    eager: true,
    // Servers serve the health registry's probes; depending on it starts its checks at ready.
    deps: { app: Application, health: Health },
    create: ({ app }) => ({ app }),
    start: ({ app }) => {
      for (const [name, url] of Object.entries(endpoints)) app.announce(name, url)
    },
    stop: async () => {
      await atStop?.()
    },
  })
}

