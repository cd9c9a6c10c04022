/**
 * What the host offers plugins, as the app provides it: application state, topics, routes and
 * outbound HTTP. Plugins never receive these objects; the capability gate calls them on a
 * plugin's behalf after checking its grants. The memory implementations are the defaults.
 */

/** Application state, read and written by key. */
export interface SharedState {
  get(key: string): unknown
  set(key: string, value: unknown): void | Promise<void>
}

/** Publish and subscribe by topic name. */
export interface PluginTopics {
  publish(topic: string, data: unknown): void | Promise<void>
  /** Returns the function that ends the subscription. */
  subscribe(topic: string, listener: (data: unknown, topic: string) => void): () => void
}

/** A request as a plugin route receives it: plain data. */
export interface PluginRequest {
  readonly method: string
  readonly path: string
  readonly query: Record<string, string>
  readonly headers: Record<string, string>
  readonly body: unknown
}

/** A route a plugin registered, mounted by the host under `/plugins/<id>`. */
export interface PluginRoute {
  readonly plugin: string
  readonly method: string
  /** The full path, `/plugins/<id>/<the plugin's path>`. */
  readonly path: string
  handle(request: PluginRequest): Promise<unknown>
}

/** Routes plugins registered; the app's HTTP layer looks requests up here. */
export interface PluginRoutes {
  /** Returns the function that removes the route. */
  add(route: PluginRoute): () => void
  find(method: string, path: string): PluginRoute | undefined
  list(): PluginRoute[]
}

/** Everything the host can do for plugins. */
export interface HostServices {
  readonly state: SharedState
  readonly topics: PluginTopics
  readonly routes: PluginRoutes
  /** Outbound HTTP; the gate has already checked the host against the plugin's list. */
  readonly fetch: typeof fetch
}

/**
 * Host services in memory: a Map of state, topics in process (`a.*` matches `a.b`), a route
 * table, and the global fetch.
 *
 * @example
 * const services = memoryServices()
 * services.topics.subscribe('readings.*', (data) => console.log(data))
 */
export function memoryServices(overrides: Partial<HostServices> = {}): HostServices {
  const state = new Map<string, unknown>()
  const listeners = new Map<string, Set<(data: unknown, topic: string) => void>>()
  const routes = new Map<string, PluginRoute>()
  return {
    state: { get: (key) => state.get(key), set: (key, value) => void state.set(key, value) },
    topics: {
      publish(topic, data) {
        for (const [pattern, set] of listeners) if (topicMatches(pattern, topic)) for (const listener of set) listener(data, topic)
      },
      subscribe(topic, listener) {
        const set = listeners.get(topic) ?? new Set()
        set.add(listener)
        listeners.set(topic, set)
        return () => set.delete(listener)
      },
    },
    routes: {
      add(route) {
        const key = `${route.method} ${route.path}`
        routes.set(key, route)
        return () => {
          if (routes.get(key) === route) routes.delete(key)
        }
      },
      find: (method, path) => routes.get(`${method.toUpperCase()} ${path}`),
      list: () => [...routes.values()],
    },
    fetch: (...args) => fetch(...args),
    ...overrides,
  }
}

/**
 * True when a subscription pattern covers a topic: equal, or `prefix.*` for anything under it.
 *
 * @example
 * topicMatches('telemetry.*', 'telemetry.readings') // true
 */
export function topicMatches(pattern: string, topic: string): boolean {
  return pattern === topic || (pattern.endsWith('.*') && topic.startsWith(pattern.slice(0, -1)))
}
