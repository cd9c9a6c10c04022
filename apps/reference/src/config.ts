import { defineConfig, type ValueOf } from '@plinth/core'
import { secretReferences } from '@plinth/secrets'
import { z } from 'zod'
import { AuthSettings } from './modules/auth/settings.js'
import { ClusterSettings } from './modules/cluster/settings.js'
import { ConversationSettings } from './modules/conversation/settings.js'
import { FlagSettings } from './modules/features/settings.js'
import { PluginSettings } from './modules/plugins/settings.js'
import { ProvisioningSettings } from './modules/provisioning/settings.js'
import { TelemetrySettings } from './modules/telemetry/settings.js'

// 0 asks the system for a free port: tests start the whole service with every port at 0. No
// default here: each server states its own (HTTP 8000, WebSocket 8765, gRPC 50051, GraphQL 8080,
// metrics 9090) and the configuration only says where it differs.
const port = z.coerce.number().int().min(0).max(65_535).optional()

/**
 * Variables that come from Vault whenever VAULT_ADDR is set (with VAULT_TOKEN, or VAULT_ROLE_ID
 * and VAULT_SECRET_ID): the OpenAI-compatible provider's API key, from the field `openaiApiKey`
 * of the KV v2 secret `reference` (write it with `vault kv put -mount=secret reference
 * openaiApiKey=sk-...`). The variable's own value is the fallback while Vault cannot answer.
 * Any other variable may hold a reference itself: DATABASE_URL=vault:secret/data/db#url.
 */
export const vaultBindings = { OPENAI_API_KEY: 'vault:secret/data/reference#openaiApiKey' }

/**
 * The reference service's configuration. Every key can be set in config/<APP_ENV>.yaml, .env,
 * the environment (HTTP_PORT, DATABASE_URL, TELEMETRY_MAX_BATCH, ...) or a CLI flag
 * (--http.port=8001). Each module declares its own section in its folder (`settings.ts`).
 */
export const AppConfig = defineConfig({
  schema: z.object({
    // The servers' host; unset, they listen on 127.0.0.1.
    host: z.string().optional(),
    http: z
      .object({
        port,
        // Browser origins allowed to call the API (CORS_ORIGINS, comma-separated): the usual
        // local front-end dev servers by default; list your real front-ends in production.
        corsOrigins: z.array(z.string().url()).default(['http://localhost:3000', 'http://localhost:5173']),
        // Requests per client per minute (HTTP_RATE_LIMIT); probes and metrics are not limited.
        rateLimit: z.coerce.number().int().min(1).default(600),
      })
      .prefault({}),
    ws: z.object({ port }).prefault({}),
    grpc: z.object({ port }).prefault({}),
    graphql: z.object({ port }).prefault({}),
    metrics: z.object({ port }).prefault({}),
    dataDir: z.string().min(1).default('./data'),
    log: z
      .object({
        // Write the logs as JSON lines to this file instead of standard output, rotated
        // (LOG_FILE=logs/app.log; a relative path is in the data directory). Unset: standard output.
        file: z.string().min(1).optional(),
        // Rotate at this size (LOG_FILE_MAX_SIZE: 10m, 500k, 1g) and at least daily; keep this many old files (LOG_FILE_KEEP).
        maxSize: z.string().regex(/^\d+[kmg]$/i, 'a size such as 10m, 500k or 1g').default('10m'),
        keep: z.coerce.number().int().min(1).max(1_000).default(7),
      })
      .prefault({}),
    databaseUrl: z.string().optional(),
    database: z
      .object({
        // The service starts, and serves what it can, while its database is down (design 004's
        // SKIP_DB_INIT); set SKIP_DB_INIT=false to make an unreachable database fatal at start.
        optional: z.boolean().default(true),
        // Pending migrations are applied at start in every environment (DATABASE_MIGRATE), under
        // a lock, so that instances starting together apply each once and none serves a schema
        // that is not there. Set DATABASE_MIGRATE=false to apply them with `plinth migrate up`.
        migrate: z.boolean().default(true),
        // What a 503 tells clients while the database is unavailable, in seconds.
        retryAfter: z.coerce.number().int().min(1).max(3_600).default(5),
      })
      .prefault({}),
    redisUrl: z.string().optional(),
    natsUrl: z.string().optional(),
    telemetry: TelemetrySettings.prefault({}),
    conversation: ConversationSettings.prefault({}),
    flags: FlagSettings.default({}),
    flagsFile: z.string().min(1).optional(),
    auth: AuthSettings.prefault({}),
    cluster: ClusterSettings.prefault({}),
    plugins: PluginSettings.prefault({}),
    provisioning: ProvisioningSettings.prefault({}),
  }),
  // Only the names the automatic naming cannot derive: every other key is read from the env
  // name of its path (http.port from HTTP_PORT, databaseUrl from DATABASE_URL, dataDir from DATA_DIR).
  env: {
    CORS_ORIGINS: 'http.corsOrigins',
    HTTP_RATE_LIMIT: 'http.rateLimit',
    SKIP_DB_INIT: 'database.optional',
    DATABASE_MIGRATE: 'database.migrate',
    LOG_FILE_MAX_SIZE: 'log.maxSize',
    LOG_FILE_KEEP: 'log.keep',
    AI_PROVIDER: 'conversation.provider',
    OPENAI_BASE_URL: 'conversation.openai.baseUrl',
    OPENAI_MODEL: 'conversation.openai.model',
    OPENAI_API_KEY: 'conversation.openai.apiKey',
    FLAGS_FILE: 'flagsFile',
    AUTH_ISSUER: 'auth.issuer',
    AUTH_ADMIN_EMAILS: 'auth.adminEmails',
    AUTH_ACCESS_TOKEN_LIFETIME: 'auth.accessTokenLifetime',
    AUTH_ACCOUNT_FAILURES: 'auth.accountFailures',
    AUTH_BASE_LOCKOUT: 'auth.baseLockout',
    AUTH_SIGNING_KEYS: 'auth.signingKeys',
    DISCOVERY_URL: 'cluster.url',
    DISCOVERY_PREFIX: 'cluster.prefix',
    DISCOVERY_TTL: 'cluster.ttl',
    PLUGINS_DIR: 'plugins.dir',
    PLUGINS_TRUSTED: 'plugins.trusted',
  },
  secrets: ['databaseUrl', 'redisUrl', 'natsUrl', 'conversation.openai.apiKey', 'auth.signingKeys', 'cluster.url'],
  // Secret references (and the Vault bindings, with VAULT_ADDR) become values wherever the
  // configuration is loaded: at start, `plinth check` and `plinth bootstrap`.
  sources: [secretReferences({ vault: vaultBindings })],
})

/** The validated configuration, as components receive it with `deps: { config: AppConfig }`. */
export type Settings = ValueOf<typeof AppConfig>
