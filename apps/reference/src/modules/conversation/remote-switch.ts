import { HealthChecks, provide, type HealthResult, type Logger } from '@plinth/core'
import type { Client } from '@plinth/flags'
import { AppConfig } from '../../config.js'
import type { AiProvider, Reply, ReplyRequest } from './provider.js'

/**
 * The remote provider behind the `ai.remote` feature flag: on, the remote (guarded) provider
 * answers; off, or falling back while the remote API is unhealthy, the local one does, marked
 * `fallback: true`. The child's id is the flag's targeting key, so a rollout can give remote
 * replies to a share of children. The remote provider is read on each reply, so that a client
 * re-created with a rotated API key takes over at once.
 */
export class SwitchedProvider implements AiProvider {
  readonly #remote: () => AiProvider
  readonly #local: AiProvider
  readonly #flags: Client | undefined

  constructor(remote: () => AiProvider, local: AiProvider, flags: Client | undefined) {
    this.#remote = remote
    this.#local = local
    this.#flags = flags
  }

  async reply(request: ReplyRequest): Promise<Reply> {
    const remoteOn = this.#flags ? await this.#flags.getBooleanValue('ai.remote', true, { targetingKey: request.childId }) : true
    if (remoteOn) return this.#remote().reply(request)
    return { ...(await this.#local.reply(request)), fallback: true }
  }

  health(): HealthResult {
    return this.#remote().health?.()
  }
}

/**
 * `ai-remote`: whether the OpenAI-compatible API answers at all (any HTTP answer below 500 to
 * GET <baseUrl>/models, sent without the key: reachability, not authorisation). Not critical:
 * the service answers without it. The `ai.remote` flag falls back while it is down or its
 * circuit is open, and this check is what notices the API is back, since no reply is sent to it
 * meanwhile. Only with AI_PROVIDER=openai.
 */
export const aiRemoteCheck = provide(HealthChecks, {
  deps: { config: AppConfig },
  create: ({ config }) => {
    const { baseUrl, resetTimeout } = config.conversation.openai
    const url = `${baseUrl.replace(/\/+$/, '')}/models`
    return {
      name: 'ai-remote',
      critical: false,
      // The registry's default deadline (2 s), not the reply timeout: a reachability probe on a busy machine may take longer than a tight reply budget.
      breaker: { failureThreshold: 3, resetTimeout },
      check: async ({ signal }): Promise<HealthResult> => {
        if (config.conversation.provider !== 'openai') return { status: 'up', details: { provider: config.conversation.provider, remote: 'not used' } }
        const response = await fetch(url, { signal })
        await response.body?.cancel()
        if (response.status >= 500) throw new Error(`${url} answered ${response.status}`)
        return { status: 'up', details: { url, status: response.status } }
      },
    }
  },
})

/** Logs a rotation of the API key without the key. */
export function logKeyRotation(log: Logger): void {
  log.info('the AI provider API key changed; a new client uses it from the next reply')
}
