import WebSocket from 'ws'

export interface Received {
  type: string
  id?: string | number
  topic?: string
  data?: any
  error?: { code: string; message: string; details?: any }
}

/** A `ws` client that records every message and its close, for tests to wait on. */
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

  static async connect(url: string, options?: WebSocket.ClientOptions): Promise<TestClient> {
    const client = new TestClient(url, options)
    await new Promise<void>((resolve, reject) => {
      client.socket.once('open', () => resolve())
      client.socket.once('error', reject)
    })
    return client
  }

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
