import { networkInterfaces } from 'node:os'
import { backoffDelay, describeError, type Endpoint, type Logger } from '@plinth/core'
import type { Registry } from './contract.js'
import { checkInstance, type InstanceHealth, type ServiceInstance } from './instance.js'

/** What an app says about itself when it registers. */
export interface SelfDescription {
  service: string
  id: string
  version: string
  metadata: Readonly<Record<string, string>>
  weight: number
  /** The host that replaces a wildcard listen address (0.0.0.0, ::). */
  advertiseHost: string | undefined
  /** Which announced endpoints to register; default every one but `docs` and `metrics`. */
  endpoints: ((name: string) => boolean) | undefined
}

/** The state of this instance's registration, for health details and logs. */
export type RegistrationState = 'unregistered' | 'registered' | 'retrying' | 'invalid' | 'deregistered'

/**
 * Keeps one app registered: registers once it is ready, renews its lease every third of the TTL,
 * re-registers after the registry comes back, marks it draining at shutdown and deregisters it at
 * stop. A registry that cannot be reached does not stop the app: it is retried with backoff, and
 * said once in the log (and again once it is reached).
 *
 * @example
 * const registration = new SelfRegistration(registry, description, log) // what discovery() runs at ready
 */
export class SelfRegistration {
  readonly #registry: Registry
  readonly #description: SelfDescription
  readonly #log: Logger
  #instance: ServiceInstance | undefined
  #state: RegistrationState = 'unregistered'
  #lastError: unknown
  #failures = 0
  #timer: NodeJS.Timeout | undefined
  #pending: Promise<void> = Promise.resolve()
  #stopped = false

  constructor(registry: Registry, description: SelfDescription, log: Logger) {
    this.#registry = registry
    this.#description = description
    this.#log = log
  }

  get state(): RegistrationState {
    return this.#state
  }

  get instance(): ServiceInstance | undefined {
    return this.#instance
  }

  get lastError(): unknown {
    return this.#lastError
  }

  /** Registers the app's endpoints (called at `ready`); an invalid address is logged and reported, not thrown. */
  begin(endpoints: readonly Endpoint[], health: InstanceHealth): void {
    try {
      this.#instance = checkInstance(this.#describe(endpoints, health))
    } catch (error) {
      this.#state = 'invalid'
      this.#lastError = error
      this.#log.error({ err: error }, `not registering with the ${this.#registry.kind} registry: ${error instanceof Error ? error.message : String(error)}`)
      return
    }
    this.#pending = this.#attempt('register')
  }

  /** Publishes the draining mark at once, so that clients stop picking this instance before its listeners close. */
  drain(): void {
    if (this.#instance === undefined || this.#state === 'invalid') return
    this.#instance = { ...this.#instance, draining: true }
    clearTimeout(this.#timer)
    this.#pending = this.#pending.then(() => this.#attempt('register'))
  }

  /** Updates the registered health (the app degraded, recovered). */
  setHealth(health: InstanceHealth): void {
    if (this.#instance === undefined || this.#instance.health === health || this.#state === 'invalid') return
    this.#instance = { ...this.#instance, health }
    this.#pending = this.#pending.then(() => this.#attempt('register'))
  }

  /** Waits for the draining mark, stops renewing and deregisters. */
  async end(): Promise<void> {
    this.#stopped = true
    clearTimeout(this.#timer)
    await this.#pending
    const instance = this.#instance
    if (instance === undefined || this.#state === 'invalid' || this.#state === 'unregistered') return
    try {
      await withDeadline(this.#registry.deregister(instance.service, instance.id), Math.min(5_000, this.#registry.ttl), `the ${this.#registry.kind} registry did not answer`)
      this.#state = 'deregistered'
    } catch (error) {
      // The lease lapses on its own; a failed deregistration only delays the departure by one TTL.
      this.#log.warn({ reason: describeError(error) }, `could not deregister from the ${this.#registry.kind} registry (${describeError(error)}); the registration lapses within ${this.#registry.ttl} ms`)
    }
  }

  async #attempt(kind: 'register' | 'renew'): Promise<void> {
    const instance = this.#instance
    if (instance === undefined || (this.#stopped && !instance.draining)) return
    try {
      const call = kind === 'register' || this.#state !== 'registered' ? this.#registry.register(instance) : this.#registry.renew(instance)
      await withDeadline(call, Math.min(5_000, this.#registry.ttl), `the ${this.#registry.kind} registry did not answer`)
      if (this.#failures > 0) this.#log.info(`the ${this.#registry.kind} registry is reachable again; registered ${instance.service}/${instance.id} after ${this.#failures} failed attempts`)
      else if (this.#state !== 'registered') this.#log.info({ addresses: instance.addresses }, `registered ${instance.service}/${instance.id} with the ${this.#registry.kind} registry`)
      this.#state = 'registered'
      this.#failures = 0
      this.#lastError = undefined
      this.#schedule(Math.max(1, Math.floor(this.#registry.ttl / 3)))
    } catch (error) {
      this.#lastError = error
      this.#state = 'retrying'
      // Said once per outage, not once per attempt: an unreachable registry is one fact.
      if (this.#failures++ === 0) {
        this.#log.warn({ reason: describeError(error) }, `the ${this.#registry.kind} registry is unreachable (${describeError(error)}); serving unregistered and retrying in the background`)
      }
      this.#schedule(backoffDelay({ attempts: Infinity, initialDelay: 200, maxDelay: Math.max(200, this.#registry.ttl / 3), factor: 2, jitter: true }, this.#failures))
    }
  }

  #schedule(delay: number): void {
    if (this.#stopped) return
    clearTimeout(this.#timer)
    this.#timer = setTimeout(() => {
      this.#pending = this.#pending.then(() => this.#attempt('renew'))
    }, delay)
    this.#timer.unref()
  }

  #describe(endpoints: readonly Endpoint[], health: InstanceHealth): ServiceInstance {
    const wanted = this.#description.endpoints ?? ((name: string) => name !== 'docs' && name !== 'metrics')
    const addresses: Record<string, string> = {}
    for (const { name, url } of endpoints) if (wanted(name)) addresses[name] = this.#advertised(url)
    const { service, id, version, metadata, weight } = this.#description
    return { service, id, addresses, version, metadata, health, draining: false, weight }
  }

  /** A wildcard listen address replaced by the advertised host, or by this machine's first external IPv4. */
  #advertised(url: string): string {
    let parsed: URL
    try {
      parsed = new URL(url)
    } catch {
      return url // checkInstance names it
    }
    const host = parsed.hostname.replace(/^\[|\]$/g, '')
    if (host !== '0.0.0.0' && host !== '::') return url
    const replacement = this.#description.advertiseHost ?? externalAddress()
    if (replacement === undefined) return url
    parsed.hostname = replacement.includes(':') ? `[${replacement}]` : replacement
    return parsed.href.replace(/\/$/, '')
  }
}

function externalAddress(): string | undefined {
  for (const addresses of Object.values(networkInterfaces())) {
    for (const address of addresses ?? []) if (address.family === 'IPv4' && !address.internal) return address.address
  }
  return undefined
}

/** A registry call that hangs (a client queueing commands while it reconnects) must not hold up shutdown. */
async function withDeadline<T>(call: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const deadline = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${message} within ${ms} ms`)), ms)))
  try {
    return await Promise.race([call, deadline])
  } finally {
    clearTimeout(timer)
  }
}
