import type { CheckStatus, HealthRegistry, Logger, MetricsRegistry } from '@plinth/core'
import type { Flag } from './definition.js'
import { flagsErrors } from './errors.js'

/** How a flag bound to a health check stands, for /health. */
export interface FallbackState {
  readonly check: string
  readonly checkStatus: CheckStatus
  readonly circuit: string | undefined
  readonly fallingBack: boolean
  /** When it last changed, if it has. */
  readonly since: string | undefined
}

interface CheckView {
  status: CheckStatus
  circuit: string | undefined
}

/**
 * Flags bound to health checks (design 002's "feature flags with health monitoring and
 * automatic fallback"): while a bound check is down (or degraded, where the flag says so) or its
 * circuit is open, the flag takes its fallback variant, and it returns by itself when the check
 * recovers. Follows the health registry's events rather than asking on every evaluation; each
 * change is logged and counted (`app_feature_flag_fallback_changes_total{flag,state}`), and
 * `app_feature_flag_fallback_active{flag}` is 1 while a flag falls back.
 *
 * @example
 * const fallbacks = new HealthFallbacks(health, { log, metrics })
 * fallbacks.bind(flags.values()) // after the health registry has started
 * fallbacks.isFallingBack('ai.remote') // true while ai-remote is down
 */
export class HealthFallbacks {
  readonly #health: HealthRegistry
  readonly #log: Logger | undefined
  readonly #changes
  readonly #active
  readonly #checks = new Map<string, CheckView>()
  readonly #flags = new Map<string, Flag>()
  readonly #falling = new Map<string, { fallingBack: boolean; since: number | undefined }>()
  readonly #listeners: Array<(flag: string, fallingBack: boolean) => void> = []
  #unsubscribe: (() => void) | undefined

  constructor(health: HealthRegistry, options: { log?: Logger; metrics?: MetricsRegistry } = {}) {
    this.#health = health
    this.#log = options.log
    this.#changes = options.metrics?.counter({ name: 'app_feature_flag_fallback_changes_total', help: 'Changes of feature flags bound to a health check, into (fallback) or out of (normal) their fallback', labelNames: ['flag', 'state'] })
    this.#active = options.metrics?.gauge({ name: 'app_feature_flag_fallback_active', help: '1 while a feature flag takes its health fallback variant, else 0', labelNames: ['flag'] })
  }

  /** Binds the flags that have a fallback (replacing earlier ones); throws when one names a check that does not exist. */
  bind(flags: Iterable<Flag>): void {
    const bound = [...flags].filter((flag) => flag.fallback)
    const names = new Set(this.#health.names())
    const unknown = bound.filter((flag) => !names.has(flag.fallback!.check))
    if (unknown.length > 0) {
      throw flagsErrors.create(
        'PLINTH_ERR_FLAGS_UNKNOWN_CHECK',
        `${unknown.map((f) => `flag "${f.key}" falls back on health check "${f.fallback!.check}"`).join('; ')}, and there is no such check; the checks are: ${[...names].join(', ') || '(none)'}`,
      )
    }
    this.#flags.clear()
    for (const flag of bound) this.#flags.set(flag.key, flag)
    for (const check of this.#health.report().checks) this.#checks.set(check.name, { status: check.status, circuit: check.breaker?.state })
    this.#unsubscribe ??= this.#health.events.subscribe((event) => {
      const view = this.#checks.get(event.check) ?? { status: 'unknown', circuit: undefined }
      if (event.type === 'check-completed') view.status = event.result.status
      else view.circuit = event.to
      this.#checks.set(event.check, view)
      this.#update()
    })
    this.#update()
  }

  /** True while the flag takes its fallback variant. */
  isFallingBack(key: string): boolean {
    return this.#falling.get(key)?.fallingBack ?? false
  }

  /** Calls `listener` on each change of a bound flag. */
  onChange(listener: (flag: string, fallingBack: boolean) => void): void {
    this.#listeners.push(listener)
  }

  states(): Record<string, FallbackState> {
    return Object.fromEntries(
      [...this.#flags.values()].map((flag) => {
        const view = this.#checks.get(flag.fallback!.check)
        const falling = this.#falling.get(flag.key)
        return [flag.key, { check: flag.fallback!.check, checkStatus: view?.status ?? 'unknown', circuit: view?.circuit, fallingBack: falling?.fallingBack ?? false, since: falling?.since === undefined ? undefined : new Date(falling.since).toISOString() }]
      }),
    )
  }

  close(): void {
    this.#unsubscribe?.()
    this.#unsubscribe = undefined
  }

  #update(): void {
    for (const flag of this.#flags.values()) {
      const fallback = flag.fallback!
      const view = this.#checks.get(fallback.check)
      // A check not run yet (unknown) is not known to be down: the flag keeps its normal variant.
      const unhealthy = view !== undefined && (view.status === 'down' || (view.status === 'degraded' && (fallback.when ?? ['down']).includes('degraded')) || view.circuit === 'open')
      const previous = this.#falling.get(flag.key)
      if (previous === undefined) {
        this.#falling.set(flag.key, { fallingBack: unhealthy, since: undefined })
        this.#active?.set({ flag: flag.key }, unhealthy ? 1 : 0)
        if (!unhealthy) continue
      } else if (previous.fallingBack === unhealthy) continue
      this.#falling.set(flag.key, { fallingBack: unhealthy, since: Date.now() })
      this.#active?.set({ flag: flag.key }, unhealthy ? 1 : 0)
      this.#changes?.inc({ flag: flag.key, state: unhealthy ? 'fallback' : 'normal' })
      const why = `${fallback.check} is ${view?.status ?? 'unknown'}${view?.circuit && view.circuit !== 'closed' ? `, circuit ${view.circuit}` : ''}`
      if (unhealthy) this.#log?.warn({ flag: flag.key, check: fallback.check, variant: fallback.variant }, `feature flag ${flag.key} falls back to "${fallback.variant}": ${why}`)
      else this.#log?.info({ flag: flag.key, check: fallback.check }, `feature flag ${flag.key} is back to its rules: ${why}`)
      for (const listener of [...this.#listeners]) listener(flag.key, unhealthy)
    }
  }
}
