import { token, type HealthResult } from '@plinth/core'
import type { Exchange } from './model.js'

/** What a provider is asked: the child's message, with the conversation so far and the companion's persona. */
export interface ReplyRequest {
  readonly childId: string
  readonly message: string
  /** Earlier exchanges, oldest first. */
  readonly history: readonly Exchange[]
  /** How the companion speaks: the system prompt. */
  readonly persona: string
}

export interface Reply {
  readonly text: string
  /** Who wrote it: `local` or `openai`. */
  readonly provider: string
  /** True when the local provider answered in place of the configured one. */
  readonly fallback: boolean
}

/** Writes the companion's replies. */
export interface AiProvider {
  reply(request: ReplyRequest): Promise<Reply>
  /** How the provider is doing, for /health; a provider without one is up. */
  health?(): HealthResult
}

/**
 * The AI provider of the conversation module, chosen by configuration (`conversation.provider`):
 * the local deterministic one, or an OpenAI-compatible API guarded by a circuit breaker.
 */
export const AiProvider = token('ai-provider').of<AiProvider>()
