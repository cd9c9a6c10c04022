import { FlagNotFoundError, OpenFeatureEventEmitter, ProviderEvents, TypeMismatchError, type EvaluationContext, type Hook, type JsonValue, type Provider, type ResolutionDetails } from '@openfeature/server-sdk'
import type { Flag, FlagType } from './definition.js'
import { evaluateFlag } from './evaluate.js'

export interface PlinthFlagProviderOptions {
  /** The environment (APP_ENV) whose per-environment variants apply. */
  readonly environment: string
  /** Flags from the configuration. */
  readonly flags?: ReadonlyMap<string, Flag>
  /** Whether a flag is falling back on its health check now. */
  readonly fallingBack?: (key: string) => boolean
  /** Context every evaluation starts from (the current scope's subject); the caller's context wins over it. */
  readonly context?: () => EvaluationContext
  /** Called after every evaluation with the flag and the variant it took (`default` for the caller's default, `error`). */
  readonly evaluated?: (flag: string, variant: string) => void
}

/**
 * Plinth's OpenFeature provider: flags from the configuration, overlaid by a file that can
 * change at run time, evaluated with targeting rules, stable percentage rollouts and health
 * fallbacks. Users never call it: they call an OpenFeature client (`FeatureFlags`).
 *
 * @example
 * await OpenFeature.setProviderAndWait('shop', new PlinthFlagProvider({ environment: 'production', flags }))
 * const enabled = await OpenFeature.getClient('shop').getBooleanValue('new-checkout', false, { targetingKey: userId })
 */
export class PlinthFlagProvider implements Provider {
  readonly metadata = { name: 'plinth' } as const
  readonly runsOn = 'server' as const
  readonly events = new OpenFeatureEventEmitter()
  readonly hooks: Hook[]
  readonly #options: PlinthFlagProviderOptions
  #config: ReadonlyMap<string, Flag>
  #file: ReadonlyMap<string, Flag> = new Map()

  constructor(options: PlinthFlagProviderOptions) {
    this.#options = options
    this.#config = options.flags ?? new Map()
    const { context, evaluated } = options
    this.hooks = [
      {
        // The scope's subject first, the caller's own context over it.
        before: (hook) => (context ? { ...context(), ...hook.context } : undefined),
        finally: (_hook, details) => evaluated?.(details.flagKey, details.variant ?? (details.errorCode ? 'error' : 'default')),
      },
    ]
  }

  /** Every flag in effect: the file's over the configuration's. */
  flags(): Map<string, Flag & { source: 'config' | 'file' }> {
    const all = new Map<string, Flag & { source: 'config' | 'file' }>()
    for (const flag of this.#config.values()) all.set(flag.key, { ...flag, source: 'config' })
    for (const flag of this.#file.values()) all.set(flag.key, { ...flag, source: 'file' })
    return all
  }

  /** Replaces the file's flags and tells OpenFeature's handlers which flags changed. */
  setFileFlags(flags: ReadonlyMap<string, Flag>): string[] {
    const before = this.flags()
    this.#file = flags
    const after = this.flags()
    const changed = [...new Set([...before.keys(), ...after.keys()])].filter((key) => JSON.stringify(before.get(key)) !== JSON.stringify(after.get(key)))
    if (changed.length > 0) this.events.emit(ProviderEvents.ConfigurationChanged, { flagsChanged: changed })
    return changed
  }

  /** Tells OpenFeature's handlers that a flag's value may have changed (a health fallback). */
  changed(flag: string): void {
    this.events.emit(ProviderEvents.ConfigurationChanged, { flagsChanged: [flag] })
  }

  resolveBooleanEvaluation(flagKey: string, defaultValue: boolean, context: EvaluationContext): Promise<ResolutionDetails<boolean>> {
    return Promise.resolve(this.#resolve('boolean', flagKey, defaultValue, context))
  }

  resolveStringEvaluation(flagKey: string, defaultValue: string, context: EvaluationContext): Promise<ResolutionDetails<string>> {
    return Promise.resolve(this.#resolve('string', flagKey, defaultValue, context))
  }

  resolveNumberEvaluation(flagKey: string, defaultValue: number, context: EvaluationContext): Promise<ResolutionDetails<number>> {
    return Promise.resolve(this.#resolve('number', flagKey, defaultValue, context))
  }

  resolveObjectEvaluation<T extends JsonValue>(flagKey: string, defaultValue: T, context: EvaluationContext): Promise<ResolutionDetails<T>> {
    return Promise.resolve(this.#resolve('object', flagKey, defaultValue, context))
  }

  #resolve<T>(type: FlagType, key: string, defaultValue: T, context: EvaluationContext): ResolutionDetails<T> {
    const flag = this.#file.get(key) ?? this.#config.get(key)
    if (!flag) throw new FlagNotFoundError(`no feature flag "${key}"; the flags are: ${[...this.flags().keys()].join(', ') || '(none)'}`)
    if (flag.type !== type) throw new TypeMismatchError(`feature flag "${key}" is a ${flag.type} flag, read as a ${type}`)
    const result = evaluateFlag(flag, context, this.#options.environment, this.#options.fallingBack?.(key) ?? false)
    if (result.variant === undefined) return { value: defaultValue, reason: result.reason }
    return { value: result.value as T, variant: result.variant, reason: result.reason }
  }
}
