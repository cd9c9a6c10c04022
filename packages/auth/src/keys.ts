/**
 * Signing keys of access tokens, with rotation: the newest key signs; a key it replaced keeps
 * verifying (and stays in the JWKS document) until every token it signed has expired, then it
 * is dropped. Keys are generated in memory by default; pass private JWKs to share them between
 * instances and keep tokens valid across restarts.
 */
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, type JWK } from 'jose'
import { authErrors } from './errors.js'

/** WebCrypto's key type, as jose hands it out. */
type CryptoKey = Awaited<ReturnType<typeof generateKeyPair>>['privateKey']

/** The asymmetric algorithms access tokens may be signed with. */
export type SigningAlgorithm = 'EdDSA' | 'ES256'

/** One key of the ring. */
export interface SigningKey {
  /** The key id: the RFC 7638 thumbprint of its public JWK. */
  readonly kid: string
  readonly alg: SigningAlgorithm
  readonly privateKey: CryptoKey
  readonly publicKey: CryptoKey
  /** The public key as published in the JWKS document. */
  readonly publicJwk: JWK
  readonly createdAt: number
  /** When a newer key replaced it; it verifies until `retiredAt` plus the longest token lifetime. */
  retiredAt: number | undefined
}

/** The JWKS document (RFC 7517) served at /.well-known/jwks.json. */
export interface JwksDocument {
  readonly keys: readonly JWK[]
}

export interface KeyRingOptions {
  /** Default 'EdDSA' (Ed25519). */
  readonly algorithm?: SigningAlgorithm
  /** How long a retired key keeps verifying: the access tokens' lifetime plus clock tolerance, in ms. */
  readonly retainFor: number
  readonly now?: () => number
}

/**
 * The keys that sign and verify access tokens.
 *
 * @example
 * const ring = await KeyRing.generate({ retainFor: 15 * 60_000 })
 * await ring.rotate() // new tokens use the new key; tokens of the old one still verify
 * ring.jwks() // { keys: [{ kty: 'OKP', crv: 'Ed25519', kid, alg: 'EdDSA', use: 'sig', x }, ...] }
 */
export class KeyRing {
  readonly algorithm: SigningAlgorithm
  readonly #retainFor: number
  readonly #now: () => number
  #keys: SigningKey[] = []

  private constructor(options: KeyRingOptions) {
    this.algorithm = options.algorithm ?? 'EdDSA'
    if (this.algorithm !== 'EdDSA' && this.algorithm !== 'ES256') {
      throw authErrors.create('PLINTH_ERR_AUTH_INVALID_OPTIONS', `signing algorithm "${String(this.algorithm)}" is not supported; use "EdDSA" (default) or "ES256"`)
    }
    this.#retainFor = options.retainFor
    this.#now = options.now ?? Date.now
  }

  /** A ring with one freshly generated key. */
  static async generate(options: KeyRingOptions): Promise<KeyRing> {
    const ring = new KeyRing(options)
    await ring.rotate()
    return ring
  }

  /**
   * A ring from private JWKs (as `exportPrivateJwks` gives them), the first one signing: how
   * several instances share keys. Every JWK must be a private key of the ring's algorithm.
   */
  static async fromJwks(jwks: readonly JWK[], options: KeyRingOptions): Promise<KeyRing> {
    const ring = new KeyRing(options)
    if (jwks.length === 0) throw authErrors.create('PLINTH_ERR_AUTH_INVALID_OPTIONS', 'signing keys: the list is empty; give at least one private JWK, or let the ring generate one')
    const created = ring.#now()
    for (const [index, jwk] of jwks.entries()) {
      if (typeof jwk.d !== 'string') throw authErrors.create('PLINTH_ERR_AUTH_INVALID_OPTIONS', `signing keys[${index}] is a public key; give the private JWK (with "d")`)
      const privateKey = (await importJWK({ ...jwk, alg: ring.algorithm }, ring.algorithm, { extractable: true }).catch((error: unknown) => {
        throw authErrors.create('PLINTH_ERR_AUTH_INVALID_OPTIONS', `signing keys[${index}] is not a usable ${ring.algorithm} private JWK: ${(error as Error).message}`)
      })) as CryptoKey
      const { d: _d, ...publicPart } = jwk
      const publicKey = (await importJWK({ ...publicPart, alg: ring.algorithm }, ring.algorithm)) as CryptoKey
      ring.#keys.push(await ring.#describe(privateKey, publicKey, created, index === 0 ? undefined : created))
    }
    return ring
  }

  /** Generates a key that signs from now on; the previous signing key only verifies. */
  async rotate(): Promise<SigningKey> {
    const options = this.algorithm === 'EdDSA' ? { crv: 'Ed25519', extractable: true } : { extractable: true }
    const { privateKey, publicKey } = await generateKeyPair(this.algorithm, options)
    const now = this.#now()
    const key = await this.#describe(privateKey, publicKey, now, undefined)
    for (const old of this.#keys) old.retiredAt ??= now
    this.#keys = [key, ...this.#keys]
    this.#prune()
    return key
  }

  /** The key that signs new tokens. */
  get signing(): SigningKey {
    return this.#keys[0]!
  }

  /** The key with id `kid`, if it still verifies. */
  find(kid: string | undefined): SigningKey | undefined {
    this.#prune()
    return this.#keys.find((key) => key.kid === kid)
  }

  /** The public keys that verify tokens now: the JWKS document. */
  jwks(): JwksDocument {
    this.#prune()
    return { keys: this.#keys.map((key) => key.publicJwk) }
  }

  /** The private JWKs, signing key first: to give another instance the same keys. Keep them secret. */
  async exportPrivateJwks(): Promise<JWK[]> {
    this.#prune()
    return Promise.all(this.#keys.map(async (key) => ({ ...(await exportJWK(key.privateKey)), kid: key.kid, alg: key.alg })))
  }

  #prune(): void {
    const now = this.#now()
    this.#keys = this.#keys.filter((key, index) => index === 0 || key.retiredAt === undefined || now < key.retiredAt + this.#retainFor)
  }

  async #describe(privateKey: CryptoKey, publicKey: CryptoKey, createdAt: number, retiredAt: number | undefined): Promise<SigningKey> {
    const jwk = await exportJWK(publicKey)
    const kid = await calculateJwkThumbprint(jwk)
    return { kid, alg: this.algorithm, privateKey, publicKey, publicJwk: { ...jwk, kid, alg: this.algorithm, use: 'sig' }, createdAt, retiredAt }
  }
}
