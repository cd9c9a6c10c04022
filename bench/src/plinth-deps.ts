// The bench installs its peers on its own (bench/package-lock.json), and some of them (NestJS's
// Fastify adapter, Moleculer) bring copies of fastify and pino into bench/node_modules. A row
// that sets Plinth beside bare Fastify must run both on the copies Plinth itself runs on: a
// logger from another copy of pino is not one Plinth recognises as its own, and another copy of
// Fastify is another program. Both are therefore loaded from where @plinth/http resolves them.
import { createRequire } from 'node:module'

const fromPlinth = createRequire(createRequire(import.meta.url).resolve('@plinth/http'))

export const { fastify } = fromPlinth('fastify') as typeof import('fastify')
export const { pino } = fromPlinth('pino') as typeof import('pino')
