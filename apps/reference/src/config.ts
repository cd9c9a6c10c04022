import { defineConfig } from '@plinth/core'
import { z } from 'zod'

const port = z.coerce.number().int().min(1).max(65_535)

/**
 * The reference service's configuration. Every key can be set in config/<APP_ENV>.yaml, .env,
 * the environment (HTTP_PORT, DATABASE_URL, ...) or a CLI flag (--http.port=8001).
 */
export const AppConfig = defineConfig({
  schema: z.object({
    host: z.string().default('127.0.0.1'),
    http: z.object({ port: port.default(8000) }).default({ port: 8000 }),
    ws: z.object({ port: port.default(8765) }).default({ port: 8765 }),
    grpc: z.object({ port: port.default(50051) }).default({ port: 50051 }),
    graphql: z.object({ port: port.default(8080) }).default({ port: 8080 }),
    metrics: z.object({ port: port.default(9090) }).default({ port: 9090 }),
    dataDir: z.string().default('./data'),
    databaseUrl: z.string().optional(),
    redisUrl: z.string().optional(),
    natsUrl: z.string().optional(),
    greeting: z.string().min(1).default('Hello'),
  }),
  env: {
    HTTP_PORT: 'http.port',
    WS_PORT: 'ws.port',
    GRPC_PORT: 'grpc.port',
    GRAPHQL_PORT: 'graphql.port',
    METRICS_PORT: 'metrics.port',
    DATA_DIR: 'dataDir',
    DATABASE_URL: 'databaseUrl',
    REDIS_URL: 'redisUrl',
    NATS_URL: 'natsUrl',
  },
  secrets: ['databaseUrl', 'redisUrl'],
})
