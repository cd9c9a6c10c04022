import { backoffDelay, type HealthResult, type Logger } from '@plinth/core'
import { secretsErrors } from './errors.js'
import type { VaultHttp } from './vault-http.js'

/** How the provider authenticates: a token (VAULT_TOKEN), or an AppRole login (VAULT_ROLE_ID, VAULT_SECRET_ID). */
export type VaultAuth = { readonly token: string } | { readonly roleId: string; readonly secretId: string; /** The approle auth mount. Default `approle`. */ readonly mount?: string }

export interface RenewalOptions {
  /** The share of the token's TTL after which it is renewed. Default 2/3. */
  readonly fraction?: number
  /** Backoff of a failed renewal or login, in milliseconds. Default 1 000 doubling to 30 000. */
  readonly initialDelay?: number
  readonly maxDelay?: number
}

/** active: usable and renewed on time; retrying: a renewal failed and is being retried; failed: unusable. */
export type TokenState = 'pending' | 'active' | 'retrying' | 'failed'

/**
 * The Vault token and its renewal. A static token is looked up once (`lookup-self`) for its TTL;
 * an AppRole token comes from a login. Either is renewed (`renew-self`) at a fraction of its TTL;
 * a failed renewal is retried with backoff while the token lives. A token that cannot be renewed
 * (not renewable, past its max TTL, revoked, expired) is reported once, in the log and in
 * health; an AppRole then logs in again, with backoff, until it succeeds.
 */
export class VaultToken {
  readonly #http: VaultHttp
  readonly #auth: VaultAuth
  readonly #log: () => Logger | undefined
  readonly #fraction: number
  readonly #policy
  #token: string | undefined
  #state: TokenState = 'pending'
  #expiresAt: number | undefined
  #renewable = false
  #lastRenewal: number | undefined
  #error: string | undefined
  #reported = false
  #attempt = 0
  #timer: NodeJS.Timeout | undefined
  #pending: Promise<string> | undefined
  #closed = false
  readonly #listeners: Array<(state: TokenState) => void> = []

  constructor(http: VaultHttp, auth: VaultAuth, options: RenewalOptions & { log?: Logger | (() => Logger | undefined) | undefined } = {}) {
    this.#http = http
    this.#auth = auth
    const log = options.log
    this.#log = typeof log === 'function' ? log : () => log
    this.#fraction = options.fraction ?? 2 / 3
    if (!(this.#fraction > 0 && this.#fraction < 1)) throw secretsErrors.create('PLINTH_ERR_SECRETS_SETTINGS', `renewal fraction ${this.#fraction} must lie between 0 and 1 (2/3 renews a 1 h token after 40 min)`)
    this.#policy = { attempts: Number.POSITIVE_INFINITY, initialDelay: options.initialDelay ?? 1_000, maxDelay: options.maxDelay ?? 30_000, factor: 2, jitter: true }
  }

  get method(): 'token' | 'approle' {
    return 'token' in this.#auth ? 'token' : 'approle'
  }

  /** When the current lease ends (ms since the epoch); undefined for a token without a TTL, or before the first login. */
  get expiresAt(): number | undefined {
    return this.#expiresAt
  }

  /** Whether Vault lets the current token be renewed. */
  get renewable(): boolean {
    return this.#renewable
  }

  get state(): TokenState {
    return this.#state
  }

  /** Calls `listener` on every change of state (renewed, retrying, failed). */
  onChange(listener: (state: TokenState) => void): () => void {
    this.#listeners.push(listener)
    return () => void this.#listeners.splice(this.#listeners.indexOf(listener), 1)
  }

  /** The token to send, logging in or looking it up first; rejects while it is unusable. */
  current(signal?: AbortSignal): Promise<string> {
    if (this.#state === 'failed' && this.method === 'token') {
      return Promise.reject(secretsErrors.create('PLINTH_ERR_VAULT_RENEWAL', `the Vault token (${this.method}) is no longer usable: ${this.#error ?? 'it expired'}`))
    }
    if (this.#token !== undefined && (this.#expiresAt === undefined || this.#expiresAt > Date.now())) return Promise.resolve(this.#token)
    this.#pending ??= this.#acquire(signal).finally(() => (this.#pending = undefined))
    return this.#pending
  }

  /** After Vault refused the token (403): forget it, so that the next call logs in again (AppRole) or fails as it should. */
  refused(reason: string): void {
    if (this.method === 'approle') {
      this.#token = undefined
      return
    }
    this.#fail(`Vault refused it: ${reason}`)
  }

  health(): HealthResult {
    const details = {
      auth: this.method,
      state: this.#state,
      renewable: this.#renewable,
      expiresAt: this.#expiresAt === undefined ? undefined : new Date(this.#expiresAt).toISOString(),
      lastRenewal: this.#lastRenewal === undefined ? undefined : new Date(this.#lastRenewal).toISOString(),
      ...(this.#error ? { error: this.#error } : {}),
    }
    const status = this.#state === 'failed' ? 'down' : this.#state === 'retrying' ? 'degraded' : 'up'
    return { status, details }
  }

  close(): void {
    this.#closed = true
    clearTimeout(this.#timer)
  }

  async #acquire(signal: AbortSignal | undefined): Promise<string> {
    if ('token' in this.#auth) {
      const { status, body } = await this.#http.call('GET', 'auth/token/lookup-self', { token: this.#auth.token, signal })
      if (status !== 200 || !body.data) throw secretsErrors.create('PLINTH_ERR_VAULT_RESPONSE', `auth/token/lookup-self answered ${status}`)
      const ttl = Number(body.data.ttl ?? 0)
      this.#token = this.#auth.token
      this.#activate(ttl, body.data.renewable === true)
      return this.#token
    }
    const mount = this.#auth.mount ?? 'approle'
    const { status, body } = await this.#http.call('POST', `auth/${mount}/login`, { body: { role_id: this.#auth.roleId, secret_id: this.#auth.secretId }, signal })
    const token = body.auth?.client_token
    if (status !== 200 || !token) {
      throw secretsErrors.create('PLINTH_ERR_VAULT_LOGIN', `AppRole login at auth/${mount}/login answered ${status}${body.errors?.length ? `: ${body.errors.join('; ')}` : ''}`)
    }
    this.#token = token
    this.#activate(body.auth?.lease_duration ?? 0, body.auth?.renewable === true)
    return token
  }

  /** A fresh lease of `ttl` seconds: schedule its renewal (or, for a token that cannot be renewed, the re-login or the report). */
  #activate(ttl: number, renewable: boolean): void {
    this.#renewable = renewable
    this.#expiresAt = ttl > 0 ? Date.now() + ttl * 1000 : undefined
    this.#attempt = 0
    this.#error = undefined
    this.#reported = false
    this.#move('active')
    if (ttl <= 0) return // root and periodic-less tokens without a TTL never expire
    const delay = ttl * 1000 * this.#fraction
    if (renewable) this.#schedule(delay, () => this.#renew())
    else if (this.method === 'approle') this.#schedule(delay, () => this.#relogin())
    else this.#schedule(delay, () => this.#fail('the token is not renewable and expires soon'))
  }

  async #renew(): Promise<void> {
    const token = this.#token
    if (token === undefined) return this.#relogin()
    try {
      const { status, body } = await this.#http.call('POST', 'auth/token/renew-self', { token, body: {} })
      const lease = body.auth?.lease_duration
      if (status !== 200 || lease === undefined) {
        return this.#cannotRenew(`auth/token/renew-self answered ${status}${body.errors?.length ? `: ${body.errors.join('; ')}` : ''}`)
      }
      this.#lastRenewal = Date.now()
      // Capped by the max TTL: a lease that no longer grows cannot be renewed much longer.
      if (body.warnings?.some((w) => /max_ttl/i.test(w)) && lease * 1000 < 2 * this.#policy.initialDelay) return this.#cannotRenew('the token reached its max TTL')
      this.#activate(lease, body.auth?.renewable ?? true)
    } catch (error) {
      if (secretsErrors.is(error, 'PLINTH_ERR_VAULT_DENIED')) return this.#cannotRenew('Vault refused it (revoked or expired)')
      this.#retry(() => this.#renew(), error)
    }
  }

  async #relogin(): Promise<void> {
    this.#token = undefined
    try {
      await this.#acquire(undefined)
    } catch (error) {
      this.#retry(() => this.#relogin(), error)
    }
  }

  #cannotRenew(reason: string): void {
    if (this.method === 'approle') {
      this.#log()?.info(`Vault token cannot be renewed (${reason}); logging in again with AppRole`)
      void this.#relogin()
      return
    }
    this.#fail(reason)
  }

  /** A failure that may pass: retried with backoff while the token still lives; past its expiry it is failed. */
  #retry(again: () => Promise<void>, error: unknown): void {
    const message = (error as Error).message
    this.#error = message
    if (this.#expiresAt !== undefined && this.#expiresAt <= Date.now()) {
      if (this.method === 'token') return this.#fail(`the token expired while renewal failed: ${message}`)
      this.#token = undefined
    }
    this.#move('retrying')
    this.#report(`Vault token renewal failed; retrying with backoff: ${message}`, 'warn')
    this.#attempt++
    this.#schedule(backoffDelay(this.#policy, this.#attempt), again)
  }

  #fail(reason: string): void {
    this.#error = reason
    clearTimeout(this.#timer)
    this.#move('failed')
    this.#report(`Vault token cannot be renewed: ${reason}; secrets fall back to the next source of the chain`, 'error')
  }

  /** Once per episode: the log says a token is in trouble when it starts, not on every retry. */
  #report(message: string, level: 'warn' | 'error'): void {
    if (this.#reported && level === 'warn') return
    this.#reported = true
    this.#log()?.[level]({ auth: this.method, code: level === 'error' ? 'PLINTH_ERR_VAULT_RENEWAL' : undefined }, message)
  }

  #move(state: TokenState): void {
    if (this.#state === state) return
    this.#state = state
    for (const listener of [...this.#listeners]) listener(state)
  }

  #schedule(delay: number, run: () => Promise<void> | void): void {
    clearTimeout(this.#timer)
    if (this.#closed) return
    this.#timer = setTimeout(() => void run(), delay)
    this.#timer.unref()
  }
}
