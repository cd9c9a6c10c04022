import { Logger, Metrics, component, type MetricsRegistry } from '@plinth/core'
import { AppConfig } from '../../config.js'
import { ServiceError } from '../../errors.js'

/** Which side of an exchange the filter refused. */
export type Direction = 'message' | 'reply'

/** 422: the safety filter refused a message or a reply. Which rule matched is logged, never sent. */
export class ContentBlocked extends ServiceError {
  readonly direction: Direction

  constructor(direction: Direction) {
    const detail =
      direction === 'message'
        ? 'the message was blocked by the safety filter; it was not sent to the companion, nor stored'
        : "the companion's reply was blocked by the safety filter; nothing was stored"
    super(422, detail, { type: 'urn:plinth:reference:problem:content-blocked', title: 'Content blocked', extensions: { blocked: direction } })
    this.direction = direction
  }
}

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')

/**
 * The safety filter of a children's companion: whole words and phrases (in any case), and
 * regular expressions, from the configuration (`conversation.safety`).
 *
 * @example
 * const filter = new SafetyFilter({ words: ['password'], patterns: ['\\d{9,}'] })
 * filter.match('my Password is hunter2') // 'word'
 * filter.match('call 0123456789') // 'pattern 1'
 */
export class SafetyFilter {
  readonly #words: RegExp | undefined
  readonly #patterns: readonly RegExp[]

  constructor(lists: { readonly words: readonly string[]; readonly patterns: readonly string[] }) {
    // A word counts only on its own: "class" does not trip on "ass". Letters and digits of any script.
    const words = lists.words.map((word) => escape(word.trim()).replace(/\s+/g, '\\s+'))
    this.#words = words.length > 0 ? new RegExp(`(?<![\\p{L}\\p{N}])(?:${words.join('|')})(?![\\p{L}\\p{N}])`, 'iu') : undefined
    this.#patterns = lists.patterns.map((pattern) => new RegExp(pattern, 'iu'))
  }

  /** What `text` trips, for the log (`word`, `pattern 2`), or undefined when it is clean. */
  match(text: string): string | undefined {
    if (this.#words?.test(text)) return 'word'
    const index = this.#patterns.findIndex((pattern) => pattern.test(text))
    return index >= 0 ? `pattern ${index + 1}` : undefined
  }
}

/**
 * Screens every message and every reply; refusals are counted in
 * `conversation_blocked_total{direction}`.
 */
export class SafetyScreen {
  readonly #filter: SafetyFilter
  readonly #blocked
  readonly #log: Logger

  constructor(filter: SafetyFilter, metrics: MetricsRegistry, log: Logger) {
    this.#filter = filter
    this.#log = log
    this.#blocked = metrics.counter({ name: 'conversation_blocked_total', help: 'Messages and replies the safety filter refused', labelNames: ['direction'] })
    for (const direction of ['message', 'reply']) this.#blocked.inc({ direction }, 0)
  }

  /** Throws ContentBlocked when `text` trips the filter. */
  screen(text: string, direction: Direction, childId: string): void {
    const rule = this.#filter.match(text)
    if (rule === undefined) return
    this.#blocked.inc({ direction })
    // The child's words stay out of the log; the rule that matched is enough to tune the lists.
    this.#log.info({ childId, direction, rule }, `safety filter blocked a ${direction} (${rule})`)
    throw new ContentBlocked(direction)
  }
}

/** The safety screen, configured from `conversation.safety`. */
export const safetyScreen = component('conversation-safety', {
  deps: { config: AppConfig, metrics: Metrics, log: Logger },
  create: ({ config, metrics, log }) => new SafetyScreen(new SafetyFilter(config.conversation.safety), metrics, log),
})
