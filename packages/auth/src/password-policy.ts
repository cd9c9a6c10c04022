/**
 * The password policy of OWASP's Authentication Cheat Sheet (and NIST SP 800-63B): a minimum
 * length (15 without multi-factor authentication), a maximum of at least 64, any character
 * allowed, no composition rules, and a refusal of passwords found on a list of common ones.
 */
import { commonPasswords } from './common-passwords.js'
import { authErrors } from './errors.js'

export interface PasswordPolicyOptions {
  /** Fewest characters (Unicode code points). Default 15 (OWASP, without MFA); 8 is OWASP's floor with MFA. */
  readonly minLength?: number
  /** Most characters. Default 128; OWASP asks for at least 64. */
  readonly maxLength?: number
  /** Passwords refused whatever their length, compared case-insensitively. Default: the shipped list. */
  readonly commonPasswords?: Iterable<string>
  /** Words of the application (its name, ...) refused as the whole password. */
  readonly contextWords?: Iterable<string>
}

/** Why a password was refused, one reason per rule it breaks. */
export interface PasswordProblem {
  readonly rule: 'too-short' | 'too-long' | 'common' | 'contains-email'
  readonly message: string
}

/**
 * Checks new passwords. Normalises to NFKC first, as NIST asks, so that the same password typed
 * on two keyboards is the same password.
 *
 * @example
 * const policy = new PasswordPolicy({ minLength: 12 })
 * policy.problems('password123456') // [{ rule: 'common', ... }]
 * policy.assert('tulip harbour quietly forty-seven') // passes
 */
export class PasswordPolicy {
  readonly minLength: number
  readonly maxLength: number
  readonly #common: ReadonlySet<string>

  constructor(options: PasswordPolicyOptions = {}) {
    this.minLength = options.minLength ?? 15
    this.maxLength = options.maxLength ?? 128
    if (!Number.isInteger(this.minLength) || this.minLength < 8) {
      throw authErrors.create('PLINTH_ERR_AUTH_INVALID_OPTIONS', `password policy: minLength ${this.minLength} must be an integer of at least 8 (OWASP's floor)`)
    }
    if (!Number.isInteger(this.maxLength) || this.maxLength < Math.max(64, this.minLength)) {
      throw authErrors.create('PLINTH_ERR_AUTH_INVALID_OPTIONS', `password policy: maxLength ${this.maxLength} must be an integer of at least 64 and at least minLength`)
    }
    const words = [...(options.commonPasswords ?? commonPasswords), ...(options.contextWords ?? [])]
    this.#common = new Set(words.map((word) => word.normalize('NFKC').toLowerCase()))
  }

  /** Every rule `password` breaks; empty when it is acceptable. */
  problems(password: string, context: { email?: string } = {}): PasswordProblem[] {
    const normalised = password.normalize('NFKC')
    const length = [...normalised].length
    const problems: PasswordProblem[] = []
    if (length < this.minLength) problems.push({ rule: 'too-short', message: `is ${length} characters long; use at least ${this.minLength}` })
    if (length > this.maxLength) problems.push({ rule: 'too-long', message: `is ${length} characters long; use at most ${this.maxLength}` })
    if (this.#common.has(normalised.toLowerCase())) problems.push({ rule: 'common', message: 'is on the list of commonly used passwords' })
    const local = context.email?.split('@')[0]?.toLowerCase()
    if (local && local.length >= 4 && normalised.toLowerCase().includes(local)) problems.push({ rule: 'contains-email', message: 'contains the account\'s email name' })
    return problems
  }

  /** Throws PLINTH_ERR_AUTH_WEAK_PASSWORD (422) naming every broken rule. */
  assert(password: string, context: { email?: string } = {}): void {
    const problems = this.problems(password, context)
    if (problems.length === 0) return
    throw authErrors.create('PLINTH_ERR_AUTH_WEAK_PASSWORD', `the password ${problems.map((p) => p.message).join(', and ')}`, {
      details: { rules: problems.map((p) => p.rule), minLength: this.minLength, maxLength: this.maxLength },
    })
  }
}
