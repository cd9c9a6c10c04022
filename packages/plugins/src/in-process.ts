/**
 * A trusted (system-level) plugin, run in the host's own process. It gets the same host API as a
 * sandboxed one, through the same capability gate, but nothing contains it: a busy loop blocks
 * the host and its memory is the host's. Only plugins the host lists as trusted run this way.
 */
import { pathToFileURL } from 'node:url'
import { join } from 'node:path'
import type { Logger } from '@plinth/core'
import type { CapabilityGate } from './capability-gate.js'
import { pluginErrors } from './errors.js'
import type { PluginManifest } from './manifest.js'
import type { LifecycleHook, PluginRunner } from './runner.js'

type Handler = (input: unknown, host: unknown) => unknown
interface PluginModule {
  activate?: (host: unknown) => unknown
  deactivate?: (host: unknown) => unknown
  handlers?: Record<string, Handler>
}

let generation = 0

/**
 * Runs a trusted plugin in the host process.
 *
 * @example
 * const runner = new InProcessPlugin(folder, manifest, gate, log)
 * await runner.load(5_000)
 */
export class InProcessPlugin implements PluginRunner {
  readonly isolation = 'in-process' as const
  readonly #folder: string
  readonly #manifest: PluginManifest
  readonly #gate: CapabilityGate
  readonly #log: Logger
  #module: PluginModule | undefined
  #api: unknown
  readonly #subscriptions = new Map<number, (event: unknown) => unknown>()
  readonly #routes = new Map<number, (request: unknown) => unknown>()

  constructor(folder: string, manifest: PluginManifest, gate: CapabilityGate, log: Logger) {
    this.#folder = folder
    this.#manifest = manifest
    this.#gate = gate
    this.#log = log
  }

  /** Where the gate delivers topic events and route requests for this plugin. */
  deliverTopic(subscription: number, topic: string, data: unknown): void {
    const listener = this.#subscriptions.get(subscription)
    if (listener) void Promise.resolve(listener({ topic, data })).catch((error: unknown) => this.#log.error({ err: error, plugin: this.#manifest.id }, 'plugin topic listener threw'))
  }

  deliverRoute(route: number, request: unknown): Promise<unknown> {
    const handle = this.#routes.get(route)
    if (!handle) return Promise.reject(pluginErrors.create('PLINTH_ERR_PLUGIN_NOT_FOUND', `plugin "${this.#manifest.id}" has no route ${route}`))
    return Promise.resolve().then(() => handle(request))
  }

  async load(timeout: number): Promise<string[]> {
    // A query string makes reload import the file again instead of the cached module.
    const url = `${pathToFileURL(join(this.#folder, this.#manifest.entry)).href}?generation=${++generation}`
    const loaded = await withTimeout<PluginModule & { default?: PluginModule }>(import(url), timeout, `plugin "${this.#manifest.id}" did not load`)
    this.#module = loaded.default && typeof loaded.default === 'object' ? loaded.default : loaded
    this.#api = this.#hostApi()
    return Object.keys(this.#module.handlers ?? {}).filter((name) => typeof this.#module?.handlers?.[name] === 'function')
  }

  async hook(hook: LifecycleHook, timeout: number): Promise<void> {
    const fn = this.#module?.[hook]
    if (typeof fn === 'function') await withTimeout(Promise.resolve(fn.call(this.#module, this.#api)), timeout, `plugin "${this.#manifest.id}" ${hook}`)
  }

  async call(handler: string, input: unknown, timeout: number): Promise<unknown> {
    const handlers = this.#module?.handlers ?? {}
    const fn = Object.hasOwn(handlers, handler) ? handlers[handler] : undefined
    if (typeof fn !== 'function') throw pluginErrors.create('PLINTH_ERR_PLUGIN_NOT_FOUND', `plugin "${this.#manifest.id}" has no handler "${handler}"`)
    try {
      return await withTimeout(Promise.resolve(fn.call(handlers, input, this.#api)), timeout, `plugin "${this.#manifest.id}" call "${handler}"`)
    } catch (error) {
      if (pluginErrors.is(error)) throw error
      throw pluginErrors.create('PLINTH_ERR_PLUGIN_CALL_FAILED', `plugin "${this.#manifest.id}": ${error instanceof Error ? error.message : String(error)}`, { cause: error })
    }
  }

  unload(): Promise<void> {
    this.#module = undefined
    this.#subscriptions.clear()
    this.#routes.clear()
    return Promise.resolve()
  }

  memoryBytes(): undefined {
    return undefined
  }

  // The same shape as the sandbox runtime's API: only the namespaces the plugin was granted.
  #hostApi(): unknown {
    const m = this.#manifest
    const has = new Set<string>(m.capabilities)
    const ask = (op: string, args: unknown[]) => this.#gate.handle(op, args)
    const api: Record<string, unknown> = {
      plugin: Object.freeze({ id: m.id, version: m.version, level: m.level, capabilities: [...m.capabilities] }),
      log: Object.freeze({
        info: (message: string) => this.#log.info({ plugin: m.id }, message),
        warn: (message: string) => this.#log.warn({ plugin: m.id }, message),
        error: (message: string) => this.#log.error({ plugin: m.id }, message),
      }),
    }
    const state: Record<string, unknown> = {}
    if (has.has('state:read')) state.get = (key: string) => ask('state.get', [key])
    if (has.has('state:write')) state.set = (key: string, value: unknown) => ask('state.set', [key, value])
    if (Object.keys(state).length > 0) api.state = state
    const topics: Record<string, unknown> = {}
    if (has.has('topics:publish')) topics.publish = (topic: string, data: unknown) => ask('topics.publish', [topic, data])
    if (has.has('topics:subscribe')) {
      topics.subscribe = async (topic: string, listener: (event: unknown) => unknown) => {
        const id = (await ask('topics.subscribe', [topic])) as number
        this.#subscriptions.set(id, listener)
        return id
      }
    }
    if (Object.keys(topics).length > 0) api.topics = topics
    if (has.has('routes:register')) {
      api.routes = {
        register: async (route: { method: string; path: string }, handle: (request: unknown) => unknown) => {
          const id = (await ask('routes.register', [route])) as number
          this.#routes.set(id, handle)
          return id
        },
      }
    }
    if (has.has('http:fetch')) api.http = { fetch: (url: string, init?: unknown) => ask('http.fetch', [url, init]) }
    if (has.has('files:read')) api.files = { read: (path: string) => ask('files.read', [path]) }
    return Object.freeze(api)
  }
}

function withTimeout<T>(promise: Promise<T>, timeout: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(pluginErrors.create('PLINTH_ERR_PLUGIN_TIMEOUT', `${what} within its ${timeout} ms deadline (a trusted plugin runs in process and cannot be killed)`)), timeout)
  })
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer))
}
