import type { Cache } from '@plinth/cache'
import { randomUUID } from 'node:crypto'
import type { MetricsRegistry } from '@plinth/core'
import { whileAvailable } from '../../database.js'
import { parse } from '../../errors.js'
import { ChildId, HistoryQuery, MessageInput, type Exchange } from './model.js'
import type { AiProvider, Reply, ReplyRequest } from './provider.js'
import type { SafetyScreen } from './safety.js'
import type { ConversationStore } from './store.js'

/** The protocol a message arrived by, as the replies metric labels it. */
export type Channel = 'rest' | 'websocket' | 'graphql'

export interface ConversationOptions {
  /** Earlier exchanges the provider sees with a new message. */
  readonly contextTurns: number
  /** Seconds a client is told to wait while the database is unavailable. */
  readonly retryAfter: number
  /** Where replies to repeated questions are cached, shared by the instances on one Redis. */
  readonly replies?: Cache
}

/**
 * The AI companion, whatever the protocol: a child's message is screened, answered by the AI
 * provider with the conversation so far, the reply screened in turn, and the exchange stored.
 */
export class Conversation {
  readonly #store: ConversationStore
  readonly #provider: AiProvider
  readonly #safety: SafetyScreen
  readonly #persona: string
  readonly #options: ConversationOptions
  readonly #replies

  constructor(store: ConversationStore, provider: AiProvider, safety: SafetyScreen, persona: string, metrics: MetricsRegistry, options: ConversationOptions) {
    this.#store = store
    this.#provider = provider
    this.#safety = safety
    this.#persona = persona
    this.#options = options
    this.#replies = metrics.counter({ name: 'conversation_replies_total', help: 'Replies given, by provider, whether it was a fallback, and channel', labelNames: ['provider', 'fallback', 'channel'] })
  }

  /**
   * Answers a child's message. A message or reply the safety filter refuses is a 422
   * (ContentBlocked) and is not stored; a database that is down is a 503, before the provider is
   * asked anything.
   */
  async converse(input: unknown, channel: Channel): Promise<Exchange> {
    const { childId, message } = parse(MessageInput, input, 'the message')
    this.#safety.screen(message, 'message', childId)
    const history = await this.#available(() => this.#store.history(childId, this.#options.contextTurns))
    const reply = await this.#reply({ childId, message, history, persona: this.#persona })
    this.#safety.screen(reply.text, 'reply', childId)
    const exchange: Exchange = { id: randomUUID(), childId, message, reply: reply.text, provider: reply.provider, fallback: reply.fallback, at: new Date().toISOString() }
    await this.#available(() => this.#store.insert(exchange))
    this.#replies.inc({ provider: reply.provider, fallback: String(reply.fallback), channel })
    return exchange
  }

  /** A child's latest exchanges, oldest first. */
  async history(childId: string, query: unknown = {}): Promise<Exchange[]> {
    const { limit } = parse(HistoryQuery, query, 'the query')
    return this.#available(() => this.#store.history(parse(ChildId, childId, 'the child id'), limit))
  }

  /** A question asked before (the same words, by any child) is answered from the cache; fallback replies are not kept. */
  async #reply(request: ReplyRequest): Promise<Reply> {
    const question = request.message.trim().toLowerCase()
    const cache = this.#options.replies
    if (cache === undefined || !question.endsWith('?') || question.length > 512) return this.#provider.reply(request)
    const cached = await cache.get<Reply>(question)
    if (cached !== undefined) return cached
    const reply = await this.#provider.reply(request)
    if (!reply.fallback) await cache.set(question, reply)
    return reply
  }

  #available<T>(work: () => Promise<T>): Promise<T> {
    return whileAvailable(this.#options.retryAfter, work)
  }
}
