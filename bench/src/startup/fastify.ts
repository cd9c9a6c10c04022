// Process start to listening, for row 8: bare Fastify with one route. Prints READY and exits.
import { fastify } from 'fastify'

const server = fastify()
server.get('/', () => ({ ok: true }))
await server.listen({ port: 0, host: '127.0.0.1' })
process.stdout.write('READY\n')
await server.close()
