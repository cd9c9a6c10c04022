import type { HealthResult, Logger } from '@plinth/core'
import type { SecretStore, SecretValue } from './contract.js'
import { secretsErrors } from './errors.js'
import { describeLocation, type SecretRequest, type VaultLocation } from './reference.js'
import { VaultHttp } from './vault-http.js'
import { VaultToken, type RenewalOptions, type VaultAuth } from './vault-token.js'

export interface VaultOptions {
  /** Vault's address: VAULT_ADDR, e.g. `https://vault.internal:8200`. */
  readonly addr: string
  readonly auth: VaultAuth
  /** Vault Enterprise namespace (X-Vault-Namespace). */
  readonly namespace?: string
  /** Deadline of one HTTP call, in milliseconds. Default 5 000. */
  readonly timeout?: number
  readonly renewal?: RenewalOptions
  /** Where renewal trouble is logged; a function when the logger comes later (the app's). */
  readonly log?: Logger | (() => Logger | undefined)
}

interface KvRead {
  readonly data?: { data?: Record<string, unknown> | null; metadata?: { version?: number; deletion_time?: string; destroyed?: boolean } } | null
}

/**
 * Secrets from HashiCorp Vault's KV version 2 engine, over its HTTP API: `GET
 * /v1/<mount>/data/<path>` (with `?version=` to pin one), the token in `X-Vault-Token`, renewed
 * before it expires. Each mount is checked once, as the vault CLI does
 * (`sys/internal/ui/mounts/<mount>`): a KV version 1 mount is refused with its own error rather
 * than read as if it were missing.
 *
 * @example
 * const vault = new VaultSecrets({ addr: 'http://127.0.0.1:8200', auth: { token: process.env.VAULT_TOKEN! } })
 * const key = await vault.read(parseSecretReference('vault:secret/data/app#openaiApiKey'))
 * key?.version // 3
 * await vault.close()
 */
export class VaultSecrets implements SecretStore {
  readonly name = 'vault'
  readonly token: VaultToken
  readonly #http: VaultHttp
  readonly #mounts = new Map<string, Promise<void>>()

  constructor(options: VaultOptions) {
    let url: URL
    try {
      url = new URL(options.addr)
    } catch {
      throw secretsErrors.create('PLINTH_ERR_SECRETS_SETTINGS', `VAULT_ADDR ${JSON.stringify(options.addr)} is not a URL; expected http(s)://host:8200`)
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw secretsErrors.create('PLINTH_ERR_SECRETS_SETTINGS', `VAULT_ADDR ${JSON.stringify(options.addr)} must use http or https`)
    }
    this.#http = new VaultHttp(options.addr, { timeout: options.timeout, namespace: options.namespace })
    this.token = new VaultToken(this.#http, options.auth, { ...options.renewal, log: options.log })
  }

  get addr(): string {
    return this.#http.addr
  }

  async read(request: SecretRequest, signal?: AbortSignal): Promise<SecretValue | undefined> {
    const location = request.vault
    if (!location) return undefined
    await this.#checkMount(location.mount, signal)
    const query = location.version === undefined ? '' : `?version=${location.version}`
    const path = `${location.mount}/data/${location.path}`
    const { status, body } = await this.#call(`${path}${query}`, signal)
    const where = describeLocation(location)
    const read = body as KvRead
    if (status === 404) {
      const metadata = read.data?.metadata
      const why = metadata?.deletion_time || metadata?.destroyed ? `version ${metadata.version} of ${path} was deleted` : `there is no secret at ${path}${location.version === undefined ? '' : ` in version ${location.version}`}`
      throw secretsErrors.create('PLINTH_ERR_SECRET_NOT_FOUND', `Vault at ${this.addr} has no secret ${where}: ${why}`, { details: { source: 'vault', location: where } })
    }
    if (status !== 200 || !read.data || typeof read.data.data !== 'object' || read.data.data === null) {
      throw secretsErrors.create('PLINTH_ERR_VAULT_RESPONSE', `reading ${path} answered ${status} without a KV v2 body (data.data)`)
    }
    const value = read.data.data[location.key]
    if (value === undefined || value === null) {
      const keys = Object.keys(read.data.data)
      throw secretsErrors.create('PLINTH_ERR_SECRET_NOT_FOUND', `Vault at ${this.addr} has the secret ${path}, but no field "${location.key}" in it (its fields: ${keys.join(', ') || 'none'})`, {
        details: { source: 'vault', location: where },
      })
    }
    const version = read.data.metadata?.version
    // KV v2 reads carry no lease (lease_duration 0); a lease, where an engine gives one, bounds the cache.
    const lease = body.lease_duration ?? 0
    return {
      value: typeof value === 'string' ? value : JSON.stringify(value),
      source: `vault ${where}`,
      ...(version === undefined ? {} : { version }),
      ...(lease > 0 ? { ttl: lease * 1000 } : {}),
    }
  }

  health(): HealthResult {
    return this.token.health()
  }

  close(): Promise<void> {
    this.token.close()
    return Promise.resolve()
  }

  /** A read with the current token; a 403 tells the token so that AppRole logs in again once. */
  async #call(path: string, signal: AbortSignal | undefined, retried = false): ReturnType<VaultHttp['call']> {
    const token = await this.token.current(signal)
    try {
      return await this.#http.call('GET', path, { token, signal })
    } catch (error) {
      if (!secretsErrors.is(error, 'PLINTH_ERR_VAULT_DENIED')) throw error
      this.token.refused(error.message)
      if (retried || this.token.method === 'token') throw error
      return this.#call(path, signal, true)
    }
  }

  #checkMount(mount: string, signal: AbortSignal | undefined): Promise<void> {
    let checked = this.#mounts.get(mount)
    if (!checked) {
      checked = this.#preflight(mount, signal)
      this.#mounts.set(mount, checked)
      // A failure that may pass (Vault sealed, unreachable) is asked again next time.
      checked.catch(() => this.#mounts.delete(mount))
    }
    return checked
  }

  async #preflight(mount: string, signal: AbortSignal | undefined): Promise<void> {
    const { status, body } = await this.#call(`sys/internal/ui/mounts/${mount}`, signal)
    const data = body.data as { path?: string; type?: string; options?: { version?: string } | null } | null | undefined
    if (status !== 200 || !data) {
      throw secretsErrors.create('PLINTH_ERR_SECRET_NOT_FOUND', `Vault at ${this.addr} has no secrets engine mounted at "${mount}/" (sys/internal/ui/mounts answered ${status}${body.errors?.length ? `: ${body.errors.join('; ')}` : ''})`)
    }
    const mountPath = (data.path ?? `${mount}/`).replace(/\/+$/, '')
    if (mountPath !== mount) {
      throw secretsErrors.create('PLINTH_ERR_SECRET_REFERENCE', `"${mount}" is not a mount of Vault at ${this.addr}: the engine is mounted at "${mountPath}/"; write the reference as vault:${mountPath}/data/<path>#<key>`)
    }
    if (data.type !== 'kv' || data.options?.version !== '2') {
      const engine = data.type === 'kv' ? `KV version ${data.options?.version ?? '1'}` : `a "${data.type}" engine`
      throw secretsErrors.create('PLINTH_ERR_SECRET_KV_VERSION', `the mount "${mount}/" of Vault at ${this.addr} is ${engine}, where KV version 2 is expected`)
    }
  }
}

export type { VaultLocation }
