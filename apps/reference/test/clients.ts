/** Real clients of the service's protocols: `ws`, `@grpc/grpc-js`, and GraphQL over HTTP and graphql-ws. */
import { fileURLToPath } from 'node:url'
import { credentials, loadPackageDefinition, type Client as GrpcClient, type ServiceError } from '@grpc/grpc-js'
import { loadSync } from '@grpc/proto-loader'
import { createClient } from 'graphql-ws'
import { protoPath as healthProto } from 'grpc-health-check'
import WebSocket from 'ws'

export interface WsMessage {
  type: string
  id?: string | number
  topic?: string
  data?: any
  error?: { code: string; message: string; details?: any }
}

/** A WebSocket client that keeps every message, for tests to wait on. */
export class WsClient {
  readonly socket: WebSocket
  readonly received: WsMessage[] = []
  #waiters: Array<{ match: (m: WsMessage) => boolean; resolve: (m: WsMessage) => void }> = []
  #ids = 0

  private constructor(url: string) {
    this.socket = new WebSocket(url)
    this.socket.on('message', (raw: Buffer) => {
      const message = JSON.parse(raw.toString('utf8')) as WsMessage
      this.received.push(message)
      for (const waiter of [...this.#waiters]) {
        if (!waiter.match(message)) continue
        this.#waiters = this.#waiters.filter((w) => w !== waiter)
        waiter.resolve(message)
      }
    })
  }

  static async connect(url: string): Promise<WsClient> {
    const client = new WsClient(url)
    await new Promise<void>((resolve, reject) => client.socket.once('open', () => resolve()).once('error', reject))
    return client
  }

  /** The first message, received or to come, that matches. */
  next(match: (m: WsMessage) => boolean, timeout = 5_000): Promise<WsMessage> {
    const seen = this.received.find(match)
    if (seen) return Promise.resolve(seen)
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no matching WebSocket message within ${timeout} ms; got ${JSON.stringify(this.received)}`)), timeout)
      this.#waiters.push({ match, resolve: (m) => (clearTimeout(timer), resolve(m)) })
    })
  }

  /** Sends a message with an id and resolves with the answer to it (`result` or `error`). */
  request(type: string, data?: unknown): Promise<WsMessage> {
    const id = ++this.#ids
    this.socket.send(JSON.stringify({ type, id, data }))
    return this.next((m) => m.id === id)
  }

  close(): void {
    this.socket.close()
  }
}

const loaderOptions = { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true }
type Ctor = new (address: string, creds: ReturnType<typeof credentials.createInsecure>) => GrpcClient & Record<string, (...args: any[]) => any>

function grpcConstructor(proto: string, path: string[]): Ctor {
  let node: any = loadPackageDefinition(loadSync(proto, loaderOptions))
  for (const part of path) node = node[part]
  return node as Ctor
}

export const telemetryProto = fileURLToPath(new URL('../proto/plinth/telemetry/v1/telemetry.proto', import.meta.url))

/** gRPC clients of the telemetry service and the standard health service. */
export function grpcClients(url: string) {
  const address = url.replace(/^grpc:\/\//, '')
  const Telemetry = grpcConstructor(telemetryProto, ['plinth', 'telemetry', 'v1', 'Telemetry'])
  const Health = grpcConstructor(healthProto, ['grpc', 'health', 'v1', 'Health'])
  const telemetry = new Telemetry(address, credentials.createInsecure())
  const health = new Health(address, credentials.createInsecure())
  return {
    /** Streams `readings` in one IngestReadings call. */
    ingest: (readings: ReadonlyArray<Record<string, unknown>>) =>
      new Promise<{ stored: number; duplicates: number; findings: number }>((resolve, reject) => {
        const call = telemetry.IngestReadings!({ deadline: Date.now() + 5_000 }, (error: ServiceError | null, summary: any) => (error ? reject(error) : resolve(summary)))
        for (const reading of readings) call.write(reading)
        call.end()
      }),
    check: (service: string) =>
      new Promise<string>((resolve, reject) => health.Check!({ service }, { deadline: Date.now() + 5_000 }, (error: ServiceError | null, response: any) => (error ? reject(error) : resolve(response.status)))),
    close: () => [telemetry, health].forEach((client) => client.close()),
  }
}

/** A GraphQL query or mutation over HTTP. */
export async function graphql(url: string, query: string, variables?: Record<string, unknown>): Promise<{ status: number; data?: any; errors?: Array<{ message: string; extensions: { code: string } }> }> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query, variables }) })
  return { status: res.status, ...((await res.json()) as object) }
}

/** A graphql-ws subscription: its values as they come. */
export function subscribe(url: string, query: string, variables: Record<string, unknown>) {
  const values: any[] = []
  const errors: unknown[] = []
  const client = createClient({ url: url.replace(/^http/, 'ws'), webSocketImpl: WebSocket, retryAttempts: 0 })
  client.subscribe({ query, variables }, { next: (value) => void values.push(value), error: (error) => void errors.push(error), complete: () => undefined })
  return {
    values,
    errors,
    /**
     * Resolves once a value (or an error) has arrived. graphql-ws does not say when a
     * subscription has started, so `nudge` (which makes a value happen) is repeated until one
     * arrives: a value published before the subscription started is never delivered.
     */
    async first(nudge: () => Promise<unknown>, timeout = 5_000): Promise<void> {
      const deadline = Date.now() + timeout
      while (values.length === 0 && errors.length === 0) {
        if (Date.now() > deadline) throw new Error(`no subscription value within ${timeout} ms`)
        await nudge()
        for (let i = 0; i < 10 && values.length === 0 && errors.length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 25))
      }
    },
    dispose: () => client.dispose(),
  }
}
