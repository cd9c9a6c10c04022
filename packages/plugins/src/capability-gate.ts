/**
 * The host's side of every plugin request. A request names an operation; the gate checks that
 * the plugin that sent it (known from its process, not from the message) was granted the
 * capability, checks the arguments, and only then calls the host service. A refusal is thrown
 * back to the plugin, logged and counted.
 */
import { readFile, realpath, stat } from 'node:fs/promises'
import { isAbsolute, join, resolve, sep } from 'node:path'
import type { Logger } from '@plinth/core'
import { pluginErrors } from './errors.js'
import { plainData } from './framing.js'
import type { PluginManifest } from './manifest.js'
import { hostOperations, type HostOperation } from './protocol.js'
import type { HostServices, PluginRequest } from './services.js'

/** How a gate reaches back into its plugin: topic events and route requests become calls. */
export interface PluginDelivery {
  topic(subscription: number, topic: string, data: unknown): void
  route(route: number, request: PluginRequest): Promise<unknown>
}

export interface CapabilityGateOptions {
  readonly manifest: PluginManifest
  readonly services: HostServices
  /** The plugin's own data folder; `files.read` reads only under it. */
  readonly dataDir: string
  readonly log: Logger
  readonly onRefusal: (operation: string, reason: string) => void
  /** Largest response body `http.fetch` returns, and largest file `files.read` returns. Default 1 MiB. */
  readonly maxBytes?: number
  readonly fetchTimeout?: number
}

const methods = new Set(['GET', 'POST', 'PUT', 'PATCH', 'DELETE'])

/**
 * Checks and carries out one plugin's requests to the host.
 *
 * @example
 * const gate = new CapabilityGate({ manifest, services, dataDir, log, onRefusal: () => refusals++ }, delivery)
 * await gate.handle('state.get', ['greeting'])
 */
export class CapabilityGate {
  readonly #options: CapabilityGateOptions
  readonly #delivery: PluginDelivery
  readonly #granted: ReadonlySet<string>
  readonly #cleanups: (() => void)[] = []
  #nextId = 1

  constructor(options: CapabilityGateOptions, delivery: PluginDelivery) {
    this.#options = options
    this.#delivery = delivery
    this.#granted = new Set(options.manifest.capabilities)
  }

  /** Carries out `op` with `args` if the plugin holds its capability; otherwise throws PLINTH_ERR_PLUGIN_REFUSED. */
  async handle(op: string, rawArgs: unknown): Promise<unknown> {
    const { manifest } = this.#options
    if (!Object.hasOwn(hostOperations, op)) return this.#refuse(op, `"${op}" is not an operation of the host API`)
    const capability = hostOperations[op as HostOperation]
    if (!this.#granted.has(capability)) return this.#refuse(op, `plugin "${manifest.id}" (level ${manifest.level}) was not granted "${capability}"`)
    const args = Array.isArray(rawArgs) ? (plainData(rawArgs) as unknown[]) : []
    const { services } = this.#options
    switch (op as HostOperation) {
      case 'state.get':
        return plainData(await services.state.get(this.#key(op, args[0])))
      case 'state.set':
        await services.state.set(this.#key(op, args[0]), args[1])
        return null
      case 'topics.publish':
        await services.topics.publish(this.#topic(op, args[0]), args[1])
        return null
      case 'topics.subscribe': {
        const topic = this.#topic(op, args[0])
        const id = this.#nextId++
        this.#cleanups.push(services.topics.subscribe(topic, (data, actual) => this.#delivery.topic(id, actual, plainData(data))))
        return id
      }
      case 'routes.register': {
        const route = (args[0] ?? {}) as { method?: unknown; path?: unknown }
        const method = typeof route.method === 'string' ? route.method.toUpperCase() : ''
        if (!methods.has(method)) return this.#refuse(op, `route method ${JSON.stringify(route.method)} must be one of ${[...methods].join(', ')}`)
        if (typeof route.path !== 'string' || !/^\/[A-Za-z0-9/_.-]{0,200}$/.test(route.path) || route.path.includes('..')) {
          return this.#refuse(op, `route path ${JSON.stringify(route.path)} must start with "/" and hold only letters, digits, "/", "_", "." and "-"`)
        }
        const id = this.#nextId++
        const path = `/plugins/${manifest.id}${route.path === '/' ? '' : route.path}`
        this.#cleanups.push(services.routes.add({ plugin: manifest.id, method, path, handle: (request) => this.#delivery.route(id, request) }))
        return id
      }
      case 'http.fetch':
        return this.#fetch(op, args[0], args[1])
      case 'files.read':
        return this.#readFile(op, args[0])
    }
  }

  /** Ends the plugin's subscriptions and removes its routes (at deactivate, crash or unload). */
  release(): void {
    for (const cleanup of this.#cleanups.splice(0)) cleanup()
  }

  #refuse(op: string, reason: string): never {
    this.#options.onRefusal(op, reason)
    this.#options.log.warn({ plugin: this.#options.manifest.id, operation: op }, `plugin request refused: ${reason}`)
    throw pluginErrors.create('PLINTH_ERR_PLUGIN_REFUSED', reason, { details: { plugin: this.#options.manifest.id, operation: op } })
  }

  #key(op: string, key: unknown): string {
    if (typeof key !== 'string' || key.length === 0 || key.length > 256) return this.#refuse(op, `state key ${JSON.stringify(key)} must be a string of 1-256 characters`)
    return key
  }

  #topic(op: string, topic: unknown): string {
    if (typeof topic !== 'string' || !/^[A-Za-z0-9_.:-]{1,200}(\.\*)?$/.test(topic)) return this.#refuse(op, `topic ${JSON.stringify(topic)} must be 1-200 letters, digits, "_", ".", ":" or "-" (optionally ending in ".*")`)
    return topic
  }

  async #fetch(op: string, rawUrl: unknown, rawInit: unknown): Promise<unknown> {
    let url: URL
    try {
      url = new URL(String(rawUrl))
    } catch {
      return this.#refuse(op, `${JSON.stringify(rawUrl)} is not a URL`)
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') return this.#refuse(op, `${url.protocol} URLs cannot be fetched; use http or https`)
    if (url.username || url.password) return this.#refuse(op, 'URLs with credentials cannot be fetched')
    if (!this.#options.manifest.hosts.some((allowed) => hostAllowed(allowed, url))) {
      return this.#refuse(op, `host "${url.host}" is not among the hosts plugin "${this.#options.manifest.id}" lists (${this.#options.manifest.hosts.join(', ') || 'none'})`)
    }
    const init = (rawInit ?? {}) as { method?: unknown; headers?: unknown; body?: unknown }
    const headers: Record<string, string> = {}
    for (const [k, v] of Object.entries((init.headers ?? {}) as Record<string, unknown>)) if (typeof v === 'string') headers[k] = v
    // Redirects are not followed: a listed host must not lead the plugin to an unlisted one.
    const response = await this.#options.services.fetch(url, {
      method: typeof init.method === 'string' ? init.method : 'GET',
      headers,
      ...(typeof init.body === 'string' ? { body: init.body } : {}),
      redirect: 'manual',
      signal: AbortSignal.timeout(this.#options.fetchTimeout ?? 10_000),
    })
    const limit = this.#options.maxBytes ?? 1 << 20
    const bytes = new Uint8Array(await response.arrayBuffer())
    if (bytes.length > limit) return this.#refuse(op, `the response from ${url.host} is ${bytes.length} bytes, past the ${limit}-byte limit`)
    return { status: response.status, headers: Object.fromEntries(response.headers), body: new TextDecoder().decode(bytes) }
  }

  async #readFile(op: string, rawPath: unknown): Promise<string> {
    const root = resolve(this.#options.dataDir)
    if (typeof rawPath !== 'string' || rawPath.length === 0 || isAbsolute(rawPath)) return this.#refuse(op, `file path ${JSON.stringify(rawPath)} must be relative to the plugin's data folder`)
    const target = resolve(root, rawPath)
    if (!target.startsWith(root + sep)) return this.#refuse(op, `file path "${rawPath}" leads out of the plugin's data folder`)
    // A link inside the data folder could still point out of it: compare real paths (both at
    // once: each is a trip through libuv's thread pool, on a plugin's start path).
    const [real, realRoot] = await Promise.all([realpath(target).catch(() => undefined), realpath(root).catch(() => root)])
    if (real === undefined) throw pluginErrors.create('PLINTH_ERR_PLUGIN_NOT_FOUND', `no file "${rawPath}" in the plugin's data folder`)
    if (!real.startsWith(join(realRoot, sep))) return this.#refuse(op, `file path "${rawPath}" leads out of the plugin's data folder`)
    const size = (await stat(real)).size
    if (size > (this.#options.maxBytes ?? 1 << 20)) return this.#refuse(op, `file "${rawPath}" is ${size} bytes, past the limit`)
    return readFile(real, 'utf8')
  }
}

/** `api.example.com` matches that host (any port unless one is given); `*.example.com` its sub-domains. */
function hostAllowed(allowed: string, url: URL): boolean {
  const [name, port] = allowed.split(':') as [string, string | undefined]
  if (port !== undefined && url.port !== port) return false
  const host = url.hostname.toLowerCase()
  return name.startsWith('*.') ? host.endsWith(name.slice(1)) && host.length > name.length - 1 : host === name
}
