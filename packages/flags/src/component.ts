import { NOOP_PROVIDER, OpenFeature, type Client, type EvaluationContext } from '@openfeature/server-sdk'
import { Application, Health, Logger, Metrics, provide, token, type AnyProvider, type App, type HealthResult } from '@plinth/core'
import { validateFlags, type FlagDefinition } from './definition.js'
import { FlagFile, invalidFlags } from './flag-file.js'
import { HealthFallbacks } from './health-fallback.js'
import { PlinthFlagProvider } from './provider.js'

/**
 * The OpenFeature client of the app's flags: what components call. Its domain is the app's
 * name, so `OpenFeature.getClient(app.name)` gives the same flags.
 *
 * @example
 * component('checkout', {
 *   deps: { flags: FeatureFlags },
 *   create: ({ flags }) => ({ newFlow: () => flags.getBooleanValue('new-checkout', false) }),
 * })
 */
export const FeatureFlags = token('feature-flags').of<Client>()

/** Who a flag is evaluated for: the current scope's user, roles and tenant. */
export interface FlagSubject {
  readonly userId?: string
  readonly roles?: readonly string[]
  readonly tenant?: string
  readonly [attribute: string]: unknown
}

/**
 * The subject of the current scope (a request, a session), for flag evaluations: provide it in
 * the request scope from whatever authenticates the caller, and every evaluation made within
 * the scope carries its user id (as the targeting key), roles and tenant.
 *
 * @example
 * provide(FlagSubject, { lifetime: 'scoped', scope: 'request', deps: { user: CurrentUser }, create: ({ user }) => ({ userId: user.id, roles: user.roles, tenant: user.tenant }) })
 */
export const FlagSubject = token('flag-subject').of<FlagSubject>()

export interface FeatureFlagsOptions<C = any> {
  /** Flags from the configuration (so per environment, through config/<APP_ENV>.yaml): an object, or read from the loaded configuration. */
  readonly flags?: Readonly<Record<string, FlagDefinition>> | ((config: C) => unknown)
  /** A JSON file of flags, watched while the app runs; relative to the working directory. Its flags win over the configuration's. */
  readonly file?: string | ((config: C) => string | undefined)
  /** The OpenFeature domain the provider is registered under. Default: the app's name. */
  readonly domain?: string
}

const providers = new WeakMap<Client, { provider: PlinthFlagProvider; file: FlagFile | undefined; fallbacks: HealthFallbacks; domain: string; environment: string; reloads: (result: 'applied' | 'refused') => void }>()

/** The options each featureFlags() provider was made with, for the preflight. */
export const featureFlagOptions = new WeakMap<AnyProvider, FeatureFlagsOptions>()

/**
 * Feature flags as a component: registers Plinth's OpenFeature provider (flags from the
 * configuration and a watched file, health fallbacks, the scope's subject as evaluation
 * context) and provides its client as `FeatureFlags`. Counts every evaluation in
 * `app_feature_flag_evaluations_total{flag,variant}`; its health check (`feature-flags`) lists
 * each flag, where it comes from and whether it is falling back, and is degraded while the file
 * holds a change it refused.
 *
 * Invalid flags (in the configuration or the file) and a fallback on a check that does not
 * exist fail the start with one error listing every problem.
 *
 * @example
 * createApp({ name: 'shop', config: AppConfig, components: [featureFlags({ flags: (config) => config.flags, file: 'flags.json' })] })
 */
export function featureFlags<C = any>(options: FeatureFlagsOptions<C> = {}) {
  const provider = provide(FeatureFlags, {
    eager: true,
    deps: { app: Application, health: Health, metrics: Metrics, log: Logger },
    create: async ({ app, health, metrics, log }) => {
      const config = app.config?.value as C
      const raw = typeof options.flags === 'function' ? options.flags(config) : options.flags
      const { flags, problems } = validateFlags(raw ?? {}, 'flags')
      if (problems.length > 0) throw invalidFlags(problems, 'the configuration\'s feature flags')
      const path = typeof options.file === 'function' ? options.file(config) : options.file
      const file = path ? new FlagFile(path) : undefined
      await file?.load()

      const evaluations = metrics.counter({ name: 'app_feature_flag_evaluations_total', help: 'Feature flag evaluations, by flag and the variant it took', labelNames: ['flag', 'variant'] })
      const reloads = metrics.counter({ name: 'app_feature_flag_file_reloads_total', help: 'Changes of the feature flag file, applied or refused (invalid; the last good flags stay)', labelNames: ['result'] })
      const fallbacks = new HealthFallbacks(health, { log, metrics })
      const provider = new PlinthFlagProvider({
        environment: app.appEnv,
        flags,
        fallingBack: (key) => fallbacks.isFallingBack(key),
        context: () => scopeContext(app),
        evaluated: (flag, variant) => evaluations.inc({ flag, variant }),
      })
      if (file) provider.setFileFlags(file.flags)
      fallbacks.onChange((flag) => provider.changed(flag))
      const domain = options.domain ?? app.name
      await OpenFeature.setProviderAndWait(domain, provider)
      const client = OpenFeature.getClient(domain)
      providers.set(client, { provider, file, fallbacks, domain, environment: app.appEnv, reloads: (result) => reloads.inc({ result }) })
      return client
    },
    start: (client, { log }) => {
      const { provider, file, fallbacks, reloads } = providers.get(client)!
      fallbacks.bind(provider.flags().values())
      file?.watch(
        (flags) => {
          const changed = provider.setFileFlags(flags)
          reloads('applied')
          fallbacks.bind(provider.flags().values())
          log.info({ file: file.path, changed }, `feature flag file reloaded: ${flags.size} flags${changed.length > 0 ? `, changed: ${changed.join(', ')}` : ', none changed'}`)
        },
        (error) => {
          reloads('refused')
          log.error({ file: file.path, err: error }, `feature flag file refused; the last good flags stay in use: ${error.message}`)
        },
      )
    },
    stop: async (client) => {
      const state = providers.get(client)
      if (!state) return
      state.file?.close()
      state.fallbacks.close()
      await OpenFeature.setProviderAndWait(state.domain, NOOP_PROVIDER)
    },
    health: (client): HealthResult => {
      const state = providers.get(client)
      if (!state) return 'down'
      const fallbacks = state.fallbacks.states()
      const flags = Object.fromEntries(
        [...state.provider.flags().values()].map((flag) => [flag.key, { type: flag.type, source: flag.source, defaultVariant: flag.environments?.[state.environment as 'production'] ?? flag.defaultVariant, ...(flag.disabled ? { disabled: true } : {}), ...(fallbacks[flag.key] ? { fallback: fallbacks[flag.key] } : {}) }]),
      )
      const file = state.file?.state()
      return { status: file?.error ? 'degraded' : 'up', details: { environment: state.environment, flags, ...(file ? { file } : {}) } }
    },
  })
  featureFlagOptions.set(provider, options as FeatureFlagsOptions)
  return provider
}

/** The evaluation context of the current scope: the environment, and the subject when one is provided there. */
function scopeContext(app: App): EvaluationContext {
  const context: EvaluationContext = { environment: app.appEnv }
  const container = app.container
  if (!container.currentScope() || !container.has(FlagSubject)) return context
  let subject: FlagSubject
  try {
    subject = container.get(FlagSubject)
  } catch {
    // No scope of the subject's kind is active here (a job outside any request): no subject.
    return context
  }
  const { userId, roles, tenant, ...rest } = subject
  return {
    ...context,
    ...(rest as EvaluationContext),
    ...(userId === undefined ? {} : { targetingKey: userId, userId }),
    ...(roles === undefined ? {} : { roles: [...roles] }),
    ...(tenant === undefined ? {} : { tenant }),
  }
}
