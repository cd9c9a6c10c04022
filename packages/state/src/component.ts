/**
 * State as components: `appState()` gives the request-scoped map that request state lives in
 * and the `States` accessor over a store: Redis when STATE_URL (else REDIS_URL) names one,
 * memory otherwise. The app bucket is opened at start; health is down while the store is not
 * reachable (state has no fallback that would keep it consistent).
 */
import { Application, accessor, component, provide, token, type App } from '@plinth/core'
import { stateErrors } from './errors.js'
import { MemoryStateStore } from './memory.js'
import { RedisStateStore } from './redis.js'
import { StateScopes, appBucket, type StatesOptions } from './states.js'
import type { StateStore } from './store.js'

/**
 * Request, session and app state in the current scope.
 *
 * @example
 * component('checkout', { deps: { states: States }, create: ({ states }) => new Checkout(states) })
 */
export const States = token('states').of<StateScopes>()

export interface AppStateOptions extends StatesOptions {
  /** `memory://`, `redis://...`; default STATE_URL, else REDIS_URL, else memory. */
  url?: string
  /** Prefix of the Redis keys and channel. Default STATE_PREFIX, else `plinth:state`. */
  prefix?: string
  /** How often expired fields are swept (Redis), in ms. Default 1 000. */
  sweepInterval?: number
  /** A store of your own, instead of a URL. */
  store?: StateStore
}

/**
 * Where state lives: `url` if given, else STATE_URL, else REDIS_URL, else memory.
 *
 * @example
 * stateUrl({}, { STATE_URL: 'redis://state:6379' }) // 'redis://state:6379'
 * stateUrl({}, {}) // 'memory://'
 */
export function stateUrl(options: AppStateOptions, env: NodeJS.ProcessEnv): string {
  return options.url ?? (env.STATE_URL || undefined) ?? (env.REDIS_URL || undefined) ?? 'memory://'
}

/**
 * Makes the store a URL names.
 *
 * @example
 * const store = createStateStore('redis://127.0.0.1:6379', { prefix: 'shop:state' })
 */
export function createStateStore(url: string, options: { prefix?: string; sweepInterval?: number } = {}): StateStore {
  if (url.startsWith('memory:')) return new MemoryStateStore()
  if (/^rediss?:\/\//.test(url)) return new RedisStateStore({ url, ...options })
  throw stateErrors.create('PLINTH_ERR_STATE_INVALID_OPTIONS', `state store URL "${url.replace(/\/\/[^@/]*@/, '//***@')}" is neither memory:// nor redis:// or rediss://`)
}

// The map request state lives in: one per request scope, built on first use and dropped with the scope.
// Its presence also tells the servers that something lives in the request scope, so they open one.
const requestState = component('request-state', { lifetime: 'scoped', scope: 'request', create: () => new Map<string, unknown>() })

/**
 * The state components: spread them into the app's components.
 *
 * @example
 * export const app = createApp({
 *   name: 'shop',
 *   components: [httpServer(), ...appState({ sessionTtl: 7 * 86_400_000 })],
 *   modules: [cart],
 * })
 */
export function appState(options: AppStateOptions | ((app: App) => AppStateOptions) = {}) {
  const states = provide(States, {
    deps: { app: Application, bag: accessor(requestState) },
    eager: true,
    create: ({ app, bag }) => {
      const settings = typeof options === 'function' ? options(app) : options
      const prefix = settings.prefix ?? (app.env.STATE_PREFIX || undefined)
      const store = settings.store ?? createStateStore(stateUrl(settings, app.env), { ...settings, ...(prefix ? { prefix } : {}) })
      return new StateScopes(() => app.container, bag, store, settings)
    },
    start: async (scopes) => {
      await scopes.store.connect?.()
      await scopes.store.open(appBucket)
    },
    stop: (scopes) => scopes.store.close(),
    health: (scopes) => (scopes.store.available ? 'up' : { status: 'down', details: { reason: 'the state store is unreachable' } }),
  })
  return [requestState, states] as const
}
