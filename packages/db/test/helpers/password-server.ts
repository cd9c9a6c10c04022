/**
 * A PostgreSQL server that asks for a password and refuses it, written from the protocol's
 * documentation (https://www.postgresql.org/docs/current/protocol-flow.html#PROTOCOL-FLOW-START-UP):
 * the shared test server trusts every local connection, so a wrong password cannot be tried on it.
 *
 * StartupMessage -> AuthenticationCleartextPassword -> PasswordMessage -> ErrorResponse 28P01.
 */
import { createServer, type Server } from 'node:net'

function message(type: string, body: Buffer): Buffer {
  const header = Buffer.alloc(5)
  header.write(type, 0, 'latin1')
  header.writeInt32BE(body.length + 4, 1)
  return Buffer.concat([header, body])
}

function errorResponse(fields: Record<string, string>): Buffer {
  const parts = Object.entries(fields).map(([code, value]) => Buffer.concat([Buffer.from(code, 'latin1'), Buffer.from(`${value}\0`, 'utf8')]))
  return message('E', Buffer.concat([...parts, Buffer.from([0])]))
}

export interface PasswordServer {
  readonly port: number
  /** The passwords clients sent, to prove the client did send one. */
  readonly received: string[]
  close(): Promise<void>
}

export async function startPasswordServer(): Promise<PasswordServer> {
  const received: string[] = []
  const server: Server = createServer((socket) => {
    let buffer = Buffer.alloc(0)
    let started = false
    let user = ''
    socket.on('error', () => undefined)
    socket.on('data', (chunk) => {
      buffer = Buffer.concat([buffer, chunk])
      for (;;) {
        if (!started) {
          if (buffer.length < 8) return
          const length = buffer.readInt32BE(0)
          if (buffer.length < length) return
          const code = buffer.readInt32BE(4)
          const body = buffer.subarray(8, length)
          buffer = buffer.subarray(length)
          if (code === 80877103) {
            socket.write('N') // SSLRequest: no SSL here
            continue
          }
          const params = body.toString('utf8').split('\0')
          user = params[params.indexOf('user') + 1] ?? ''
          started = true
          const auth = Buffer.alloc(4)
          auth.writeInt32BE(3) // AuthenticationCleartextPassword
          socket.write(message('R', auth))
          continue
        }
        if (buffer.length < 5) return
        const length = buffer.readInt32BE(1)
        if (buffer.length < length + 1) return
        const type = String.fromCharCode(buffer[0]!)
        const body = buffer.subarray(5, length + 1)
        buffer = buffer.subarray(length + 1)
        if (type === 'p') {
          received.push(body.toString('utf8').replace(/\0$/, ''))
          socket.end(errorResponse({ S: 'FATAL', V: 'FATAL', C: '28P01', M: `password authentication failed for user "${user}"` }))
          return
        }
      }
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    port: (server.address() as { port: number }).port,
    received,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
}
