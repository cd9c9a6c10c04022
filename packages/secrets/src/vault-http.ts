import { secretsErrors } from './errors.js'

/** An answer of Vault's HTTP API: its status, and its JSON body (`{}` when there was none). */
export interface VaultAnswer {
  readonly status: number
  readonly body: VaultBody
}

/** The envelope of every Vault answer (https://developer.hashicorp.com/vault/api-docs#http-status-codes). */
export interface VaultBody {
  readonly data?: Record<string, unknown> | null
  readonly auth?: { client_token?: string; lease_duration?: number; renewable?: boolean } | null
  readonly lease_duration?: number
  readonly warnings?: string[] | null
  readonly errors?: string[]
}

/**
 * Vault's HTTP API over fetch: the token in `X-Vault-Token`, one deadline per call, and the
 * failures every endpoint shares turned into errors of the catalogue (unreachable, sealed, a
 * refused token). Other statuses (404, 400) are handed back for the caller to read.
 */
export class VaultHttp {
  readonly addr: string
  readonly #timeout: number
  readonly #namespace: string | undefined

  constructor(addr: string, options: { timeout?: number; namespace?: string | undefined } = {}) {
    this.addr = addr.replace(/\/+$/, '')
    this.#timeout = options.timeout ?? 5_000
    this.#namespace = options.namespace
  }

  async call(method: 'GET' | 'POST', path: string, options: { token?: string; body?: unknown; signal?: AbortSignal | undefined } = {}): Promise<VaultAnswer> {
    const headers: Record<string, string> = { accept: 'application/json' }
    if (options.token !== undefined) headers['x-vault-token'] = options.token
    if (this.#namespace) headers['x-vault-namespace'] = this.#namespace
    if (options.body !== undefined) headers['content-type'] = 'application/json'
    const timeout = AbortSignal.timeout(this.#timeout)
    const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout
    let response: Response
    try {
      response = await fetch(`${this.addr}/v1/${path}`, { method, headers, signal, ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }) })
    } catch (error) {
      const why = timeout.aborted ? `no answer within ${this.#timeout} ms` : ((error as Error).cause as Error | undefined)?.message ?? (error as Error).message
      throw secretsErrors.create('PLINTH_ERR_VAULT_UNREACHABLE', `cannot reach Vault at ${this.addr} (${method} /v1/${path}): ${why}`, { cause: error })
    }
    const text = await response.text()
    let body: VaultBody = {}
    try {
      body = text.trim() === '' ? {} : (JSON.parse(text) as VaultBody)
    } catch {
      throw secretsErrors.create('PLINTH_ERR_VAULT_RESPONSE', `Vault at ${this.addr} answered ${method} /v1/${path} with ${response.status} and a body that is not JSON`)
    }
    const said = body.errors?.length ? `: ${body.errors.join('; ')}` : ''
    if (response.status === 503 && (body.errors ?? []).some((e) => /sealed/i.test(e))) {
      throw secretsErrors.create('PLINTH_ERR_VAULT_SEALED', `Vault at ${this.addr} is sealed (${method} /v1/${path} answered 503${said})`)
    }
    if (response.status === 503 || response.status === 502 || response.status === 504) {
      throw secretsErrors.create('PLINTH_ERR_VAULT_UNREACHABLE', `Vault at ${this.addr} is unavailable (${method} /v1/${path} answered ${response.status}${said})`)
    }
    if (response.status === 403) {
      throw secretsErrors.create('PLINTH_ERR_VAULT_DENIED', `Vault at ${this.addr} refused the token for ${method} /v1/${path} (403${said})`)
    }
    if (response.status >= 500) {
      throw secretsErrors.create('PLINTH_ERR_VAULT_RESPONSE', `Vault at ${this.addr} failed ${method} /v1/${path} with ${response.status}${said}`)
    }
    return { status: response.status, body }
  }
}
