import { AppCache } from '@plinth/cache'
import { CircuitBreaker, Logger, logBreakerChanges, Metrics, component, optional, provide } from '@plinth/core'
import { Database } from '@plinth/db'
import { FeatureFlags } from '@plinth/flags'
import { Secrets } from '@plinth/secrets'
import { AppConfig } from '../../config.js'
import { LocalProvider } from './local-provider.js'
import { ChatCompletionsClient, GuardedProvider } from './openai-provider.js'
import { persona } from './persona.js'
import { AiProvider } from './provider.js'
import { SwitchedProvider, logKeyRotation } from './remote-switch.js'
import { safetyScreen } from './safety.js'
import { Conversation } from './service.js'
import { ConversationStore, type ConversationTables } from './store.js'

/** The conversation history, on the app's database. */
export const conversationStore = component('conversation-store', {
  deps: { db: Database },
  create: ({ db }) => new ConversationStore(db.typed<ConversationTables>()),
})

/**
 * The AI provider the configuration names. `openai` is any chat-completions API, reached
 * through a circuit breaker, retries and a timeout, with the local provider as its fallback;
 * its health (degraded while the circuit is open) shows at /health as `ai-provider`.
 */
export const aiProvider = provide(AiProvider, {
  deps: { config: AppConfig, log: Logger, flags: optional(FeatureFlags), secrets: optional(Secrets) },
  create: ({ config, log, flags, secrets }): AiProvider => {
    const local = new LocalProvider()
    if (config.conversation.provider === 'local') return local
    const { baseUrl, model, apiKey = '', timeout, attempts, retryDelay, failureThreshold, resetTimeout } = config.conversation.openai
    const breaker = new CircuitBreaker('ai-provider', { failureThreshold, resetTimeout })
    breaker.onChange(logBreakerChanges('AI provider', log))
    const guarded = (key: string) => new GuardedProvider(new ChatCompletionsClient({ baseUrl, model, apiKey: key, timeout }), local, breaker, { attempts, initialDelay: retryDelay }, log)
    let remote = guarded(apiKey)
    // A key rotated in Vault reaches the next reply through a new client; the breaker's state carries over.
    secrets?.watchVariable('OPENAI_API_KEY', (key) => {
      remote = guarded(key)
      logKeyRotation(log)
    })
    return new SwitchedProvider(() => remote, local, flags)
  },
  health: (provider) => provider.health?.(),
})

/** The companion every protocol talks to. */
export const conversation = component('conversation', {
  deps: { store: conversationStore, provider: AiProvider, safety: safetyScreen, persona, metrics: Metrics, config: AppConfig, cache: AppCache },
  create: ({ store, provider, safety, persona, metrics, config, cache }) =>
    new Conversation(store, provider, safety, persona, metrics, {
      contextTurns: config.conversation.contextTurns,
      retryAfter: config.database.retryAfter,
      replies: cache.namespace('conversation-replies', { ttl: 600_000 }),
    }),
})
