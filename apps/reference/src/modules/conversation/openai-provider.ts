import { isPlinthError, retry, type CircuitBreaker, type HealthResult, type Logger, type RetryOptions } from '@plinth/core'
import type { AiProvider, Reply, ReplyRequest } from './provider.js'

export interface OpenAiSettings {
  /** The API root, e.g. `https://api.openai.com/v1`; requests go to `<baseUrl>/chat/completions`. */
  readonly baseUrl: string
  readonly model: string
  readonly apiKey: string
  /** Deadline of one call, in milliseconds. */
  readonly timeout: number
}

/** A failed call, and whether trying again may help (timeouts, 429, 5xx) or not (401, 400...). */
export class UpstreamError extends Error {
  readonly status: number | undefined
  readonly retryable: boolean

  constructor(message: string, options: { status?: number; retryable: boolean; cause?: unknown }) {
    super(message, { cause: options.cause })
    this.name = 'UpstreamError'
    this.status = options.status
    this.retryable = options.retryable
  }
}

interface ChatCompletion {
  choices?: Array<{ message?: { role?: string; content?: string | null } }>
  error?: { message?: string }
}

/**
 * A client of the chat-completions API that OpenAI, Azure OpenAI, vLLM, Ollama, LM Studio and
 * others serve: one POST per reply, the persona as the system message and the conversation so
 * far as alternating user and assistant messages.
 */
export class ChatCompletionsClient {
  readonly #settings: OpenAiSettings
  readonly #url: string

  constructor(settings: OpenAiSettings) {
    this.#settings = settings
    this.#url = `${settings.baseUrl.replace(/\/+$/, '')}/chat/completions`
  }

  /** One call, under the timeout; rejects with UpstreamError. */
  async complete(request: ReplyRequest): Promise<string> {
    const messages = [
      { role: 'system', content: request.persona },
      ...request.history.flatMap((turn) => [
        { role: 'user', content: turn.message },
        { role: 'assistant', content: turn.reply },
      ]),
      { role: 'user', content: request.message },
    ]
    let response: Response
    try {
      response = await fetch(this.#url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${this.#settings.apiKey}` },
        // The child's id stays here: a third party needs the words, not who wrote them.
        body: JSON.stringify({ model: this.#settings.model, messages }),
        signal: AbortSignal.timeout(this.#settings.timeout),
      })
    } catch (error) {
      const timedOut = (error as Error).name === 'TimeoutError'
      throw new UpstreamError(timedOut ? `no answer within ${this.#settings.timeout} ms` : `cannot reach ${this.#url}: ${(error as Error).message}`, { retryable: true, cause: error })
    }
    const body = (await response.json().catch(() => ({}))) as ChatCompletion
    if (!response.ok) {
      const retryable = response.status === 429 || response.status >= 500
      throw new UpstreamError(`${this.#url} answered ${response.status}: ${body.error?.message ?? response.statusText}`, { status: response.status, retryable })
    }
    const content = body.choices?.[0]?.message?.content?.trim()
    if (!content) throw new UpstreamError(`${this.#url} answered without a reply in choices[0].message.content`, { status: response.status, retryable: false })
    return content
  }
}

/**
 * The OpenAI-compatible provider as the service uses it: each reply goes through the circuit
 * breaker, and within it through retries with backoff (retryable failures only) and the
 * client's timeout. When the call fails, or the circuit is open and the call is not even tried,
 * the fallback provider answers, marked `fallback: true`: a child always gets a reply.
 *
 * The breaker wraps the retries, so one reply that failed after every attempt is one failure:
 * `failureThreshold` failed replies in a row open the circuit, and until `resetTimeout` has
 * passed no request waits on an API that is down.
 */
export class GuardedProvider implements AiProvider {
  readonly #client: ChatCompletionsClient
  readonly #fallback: AiProvider
  readonly #breaker: CircuitBreaker
  readonly #retry: RetryOptions
  readonly #log: Logger

  constructor(client: ChatCompletionsClient, fallback: AiProvider, breaker: CircuitBreaker, retryPolicy: RetryOptions, log: Logger) {
    this.#client = client
    this.#fallback = fallback
    this.#breaker = breaker
    this.#retry = retryPolicy
    this.#log = log
  }

  async reply(request: ReplyRequest): Promise<Reply> {
    try {
      const text = await this.#breaker.run(async () => {
        // `retry` retries whatever throws; a failure that cannot pass is handed out of it as a value.
        const outcome = await retry(async () => {
          try {
            return { text: await this.#client.complete(request) }
          } catch (error) {
            if (error instanceof UpstreamError && error.retryable) throw error
            return { error }
          }
        }, this.#retry)
        if ('error' in outcome) throw outcome.error
        return outcome.text
      })
      return { text, provider: 'openai', fallback: false }
    } catch (error) {
      // While the circuit is open every reply lands here; the state change itself was logged once.
      const level = isPlinthError(error, 'PLINTH_ERR_CIRCUIT_OPEN') ? 'debug' : 'warn'
      this.#log[level]({ err: error, breaker: this.#breaker.state }, `the AI provider failed; the local provider answers: ${(error as Error).message}`)
      return { ...(await this.#fallback.reply(request)), fallback: true }
    }
  }

  /** Degraded (not down) while the circuit is open: replies still come, from the fallback. */
  health(): HealthResult {
    const snapshot = this.#breaker.snapshot()
    if (snapshot.state === 'closed') return { status: 'up', details: { provider: 'openai', breaker: snapshot } }
    return { status: 'degraded', details: { provider: 'openai', breaker: snapshot, reason: 'the circuit is open; the local provider answers' } }
  }
}
