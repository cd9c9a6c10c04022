/**
 * @plinth/ws/testing: a WebSocket client for tests of a Plinth WebSocket server (the package's
 * own, the reference service's, yours): it keeps every message and lets a test wait for the one
 * it expects, or send a request and wait for its answer.
 */
import WebSocket from 'ws'

/** A message of the server's JSON protocol, as received. */
export interface Received {
  type: string
  id?: string | number
  topic?: string
  data?: any
  error?: { code: string; message: string; details?: any }
}

/**
 * A `ws` client that records every message and its close, for tests to wait on.
 *
 * @example
 * const client = await TestClient.connect('ws://127.0.0.1:8765')
 * const reply = await client.request('echo', { text: 'hi' })
 * expect(reply).toMatchObject({ type: 'result', data: { text: 'hi' } })
 * client.close()
 */
export class TestClient {
  readonly socket: WebSocket
  readonly received: Received[] = []
  readonly closed: Promise<{ code: number; reason: string }>
  #waiters: Array<{ match: (m: Received) => boolean; resolve: (m: Received) => void }> = []

  constructor(url: string, options: WebSocket.ClientOptions = {}) {
    this.socket = new WebSocket(url, options)
    this.socket.on('message', (raw: WebSocket.RawData) => {
      const message = JSON.parse((raw as Buffer).toString('utf8')) as Received
      this.received.push(message)
      for (const waiter of [...this.#waiters]) {
        if (waiter.match(message)) {
          this.#waiters = this.#waiters.filter((w) => w !== waiter)
          waiter.resolve(message)
        }
      }
    })
    this.closed = new Promise((resolve) => this.socket.on('close', (code, reason) => resolve({ code, reason: reason.toString() })))
  }

  /** Opens a connection; resolves once it is open, rejects when it cannot be. */
  static async connect(url: string, options?: WebSocket.ClientOptions): Promise<TestClient> {
    const client = new TestClient(url, options)
    await new Promise<void>((resolve, reject) => {
      client.socket.once('open', () => resolve())
      client.socket.once('error', reject)
    })
    return client
  }

  /** Sends a message as JSON (a string is sent as it is, to test what the server does with bad input). */
  send(message: unknown): void {
    this.socket.send(typeof message === 'string' ? message : JSON.stringify(message))
  }

  /** The first message (already received or still to come) that matches. */
  next(match: (m: Received) => boolean, timeout = 5_000): Promise<Received> {
    const seen = this.received.find(match)
    if (seen) return Promise.resolve(seen)
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no matching message within ${timeout} ms; got ${JSON.stringify(this.received)}`)), timeout)
      this.#waiters.push({ match, resolve: (m) => (clearTimeout(timer), resolve(m)) })
    })
  }

  /** Sends a message with an id and waits for the reply to it. */
  async request(type: string, data?: unknown, id: string | number = Math.random().toString(36).slice(2)): Promise<Received> {
    this.send({ type, id, data })
    return this.next((m) => m.id === id)
  }

  close(): void {
    this.socket.close()
  }
}
