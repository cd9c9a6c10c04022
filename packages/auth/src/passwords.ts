/**
 * Password hashing with argon2id (@node-rs/argon2, a maintained Rust binding that loads on Node
 * 20 without a compiler). Parameters are configurable; a hash made with other parameters still
 * verifies, and `verify` says when it should be replaced so that the next successful login
 * upgrades it.
 */
import { createRequire } from 'node:module'
import type * as Argon2 from '@node-rs/argon2'
import { authErrors } from './errors.js'

// Loaded on the first hash or verification: the native binding cost ~10 ms of every start,
// whether or not anyone logs in. (A native addon stays outside a `plinth build` bundle anyway.)
let binding: typeof Argon2 | undefined
const argon2 = () => (binding ??= createRequire(import.meta.url)('@node-rs/argon2') as typeof Argon2)

/** argon2id's cost parameters, as the PHC string records them (`m=`, `t=`, `p=`). */
export interface Argon2Parameters {
  /** Memory in KiB. Default 19456 (19 MiB), OWASP's minimum for argon2id with t=2, p=1. */
  readonly memoryCost: number
  /** Passes over memory. Default 2. */
  readonly timeCost: number
  /** Lanes. Default 1. */
  readonly parallelism: number
}

/**
 * OWASP Password Storage Cheat Sheet's first argon2id configuration: m=19 MiB, t=2, p=1.
 *
 * @example
 * new PasswordHasher({ ...owaspMinimumArgon2, memoryCost: 47_104, timeCost: 1 }) // OWASP's 46 MiB variant
 */
export const owaspMinimumArgon2: Argon2Parameters = { memoryCost: 19_456, timeCost: 2, parallelism: 1 }

/** The outcome of checking a password against a stored hash. */
export interface PasswordCheck {
  readonly valid: boolean
  /** The hash was made with other parameters (or another algorithm): store a new one. */
  readonly needsRehash: boolean
}

// argon2id, numerically: Algorithm is a const enum, which isolated modules cannot read.
const ARGON2ID = 2 as Argon2.Algorithm
const phc = /^\$argon2(id|i|d)\$v=(\d+)\$m=(\d+),t=(\d+),p=(\d+)\$/

/**
 * Hashes and verifies passwords with argon2id.
 *
 * @example
 * const hasher = new PasswordHasher({ memoryCost: 19_456, timeCost: 2, parallelism: 1 })
 * const stored = await hasher.hash('tulip harbour quietly forty-seven')
 * const { valid, needsRehash } = await hasher.verify(stored, 'tulip harbour quietly forty-seven')
 */
export class PasswordHasher {
  readonly parameters: Argon2Parameters
  readonly #secret: Uint8Array | undefined
  #dummy: Promise<string> | undefined

  constructor(parameters: Partial<Argon2Parameters> = {}, options: { pepper?: string } = {}) {
    const merged = { ...owaspMinimumArgon2, ...parameters }
    const problems: string[] = []
    if (!Number.isInteger(merged.memoryCost) || merged.memoryCost < 8 * merged.parallelism || merged.memoryCost > 4_194_304) problems.push(`memoryCost ${merged.memoryCost} must be an integer of KiB from 8 x parallelism to 4194304 (4 GiB)`)
    if (!Number.isInteger(merged.timeCost) || merged.timeCost < 1 || merged.timeCost > 100) problems.push(`timeCost ${merged.timeCost} must be an integer from 1 to 100`)
    if (!Number.isInteger(merged.parallelism) || merged.parallelism < 1 || merged.parallelism > 255) problems.push(`parallelism ${merged.parallelism} must be an integer from 1 to 255`)
    if (problems.length > 0) throw authErrors.create('PLINTH_ERR_AUTH_INVALID_OPTIONS', `invalid argon2 parameters: ${problems.join('; ')}`)
    this.parameters = Object.freeze(merged)
    this.#secret = options.pepper ? new TextEncoder().encode(options.pepper) : undefined
  }

  /** A PHC string (`$argon2id$v=19$m=...,t=...,p=...$salt$hash`) with a fresh random salt. */
  hash(password: string): Promise<string> {
    return argon2().hash(password, { ...this.parameters, algorithm: ARGON2ID, ...(this.#secret ? { secret: this.#secret } : {}) })
  }

  /** Checks `password` against `stored`; a malformed hash is simply not valid. */
  async verify(stored: string, password: string): Promise<PasswordCheck> {
    const valid = await argon2().verify(stored, password, this.#secret ? { secret: this.#secret } : undefined).catch(() => false)
    return { valid, needsRehash: valid && this.needsRehash(stored) }
  }

  /** True when `stored` was not made by argon2id with this hasher's parameters. */
  needsRehash(stored: string): boolean {
    const match = phc.exec(stored)
    if (!match) return true
    const [, variant, , m, t, p] = match
    const { memoryCost, timeCost, parallelism } = this.parameters
    return variant !== 'id' || Number(m) !== memoryCost || Number(t) !== timeCost || Number(p) !== parallelism
  }

  /**
   * Spends the time of one verification when there is no account to verify against, so that a
   * login for an unknown email takes as long as one for a known email with a wrong password.
   */
  async verifyNothing(password: string): Promise<void> {
    this.#dummy ??= this.hash('plinth-auth: no such account')
    await this.verify(await this.#dummy, password)
  }
}
