import { component, createApp, type HealthResult } from '@plinth/core'

export const journal: string[] = []

class Database {
  connected = false
  readonly url: string
  constructor(url: string) {
    this.url = url
  }
  connect(signal: AbortSignal): Promise<void> {
    signal.throwIfAborted()
    this.connected = true
    journal.push('database connected')
    return Promise.resolve()
  }
  close(): Promise<void> {
    this.connected = false
    journal.push('database closed')
    return Promise.resolve()
  }
}

class HttpServer {
  readonly db: Database
  constructor(db: Database) {
    this.db = db
  }
  listen(port: number): Promise<void> {
    journal.push(`listening on ${port}`)
    return Promise.resolve()
  }
  close(): Promise<void> {
    journal.push('server closed')
    return Promise.resolve()
  }
}

// #region hooks
const database = component('database', {
  create: () => new Database('postgres://localhost/orders'), // no I/O here: building is cheap
  start: (db, { signal }) => db.connect(signal), // the I/O, under a deadline
  stop: (db) => db.close(),
  health: (db): HealthResult => (db.connected ? 'up' : { status: 'down', details: { url: db.url } }),
})

const server = component('http-server', {
  eager: true,
  deps: { database },
  create: ({ database }) => new HttpServer(database),
  start: (server, { log }) => {
    log.info('opening port 8000')
    return server.listen(8000)
  },
  stop: (server) => server.close(),
})

export const app = createApp({ name: 'orders', components: [database, server] })
// #endregion

export async function main() {
  // #region run
  await app.start() // database connected, listening on 8000
  await app.stop() // server closed, database closed
  // #endregion
  return journal
}
