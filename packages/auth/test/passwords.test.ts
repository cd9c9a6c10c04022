import { isPlinthError } from '@plinth/core'
import { describe, expect, it } from 'vitest'
import { PasswordHasher, PasswordPolicy, owaspMinimumArgon2 } from '../src/index.js'

// Cheap parameters keep the suite quick; one test uses the defaults.
const cheap = { memoryCost: 1024, timeCost: 1, parallelism: 1 }

describe('password hashing', () => {
  it('hashes with argon2id and OWASP minimum parameters by default', async () => {
    const hasher = new PasswordHasher()
    expect(hasher.parameters).toEqual(owaspMinimumArgon2)
    const stored = await hasher.hash('tulip harbour quietly forty-seven')
    expect(stored).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/)
    expect(await hasher.verify(stored, 'tulip harbour quietly forty-seven')).toEqual({ valid: true, needsRehash: false })
  })

  it('salts every hash, and refuses a wrong password', async () => {
    const hasher = new PasswordHasher(cheap)
    const [a, b] = await Promise.all([hasher.hash('same password here'), hasher.hash('same password here')])
    expect(a).not.toBe(b)
    expect(await hasher.verify(a, 'same password here!')).toEqual({ valid: false, needsRehash: false })
  })

  it('says a hash made with other parameters needs rehashing, once the password is right', async () => {
    const old = await new PasswordHasher(cheap).hash('tulip harbour quietly forty-seven')
    const current = new PasswordHasher({ ...cheap, memoryCost: 2048 })
    expect(await current.verify(old, 'tulip harbour quietly forty-seven')).toEqual({ valid: true, needsRehash: true })
    expect(await current.verify(old, 'wrong')).toEqual({ valid: false, needsRehash: false })
    expect(current.needsRehash('$2b$10$abcdefghijklmnopqrstuv')).toBe(true)
  })

  it('treats a malformed stored hash as not matching, without throwing', async () => {
    expect(await new PasswordHasher(cheap).verify('not a hash', 'whatever')).toEqual({ valid: false, needsRehash: false })
  })

  it('mixes a pepper into the hash: without it the password does not verify', async () => {
    const stored = await new PasswordHasher(cheap, { pepper: 'kept-in-vault' }).hash('tulip harbour quietly forty-seven')
    expect((await new PasswordHasher(cheap).verify(stored, 'tulip harbour quietly forty-seven')).valid).toBe(false)
    expect((await new PasswordHasher(cheap, { pepper: 'kept-in-vault' }).verify(stored, 'tulip harbour quietly forty-seven')).valid).toBe(true)
  })

  it('rejects parameters out of range, naming each', () => {
    try {
      new PasswordHasher({ memoryCost: 4, timeCost: 0, parallelism: 300 })
      expect.unreachable()
    } catch (error) {
      expect(isPlinthError(error, 'PLINTH_ERR_AUTH_INVALID_OPTIONS')).toBe(true)
      expect((error as Error).message).toMatch(/memoryCost 4 .*timeCost 0 .*parallelism 300/s)
    }
  })
})

describe('password policy', () => {
  const policy = new PasswordPolicy()

  it('accepts a long passphrase', () => {
    expect(policy.problems('tulip harbour quietly forty-seven')).toEqual([])
  })

  it('refuses a short password, saying how long it is and must be', () => {
    expect(() => policy.assert('short one')).toThrow('the password is 9 characters long; use at least 15')
  })

  it('refuses a common password whatever its length or case', () => {
    expect(policy.problems('PasswordPassword').map((p) => p.rule)).toEqual(['common'])
    expect(policy.problems('1234567890123456').map((p) => p.rule)).toEqual(['common'])
  })

  it('counts characters, not bytes, after NFKC normalisation', () => {
    expect(policy.problems('ééééééééééééééé')).toEqual([])
  })

  it('refuses an over-long password and one containing the email name, with every reason in one error', () => {
    try {
      policy.assert(`${'x'.repeat(120)}adalovelace${'y'.repeat(10)}`, { email: 'adalovelace@example.com' })
      expect.unreachable()
    } catch (error) {
      expect(isPlinthError(error, 'PLINTH_ERR_AUTH_WEAK_PASSWORD')).toBe(true)
      expect((error as { details: unknown }).details).toMatchObject({ rules: ['too-long', 'contains-email'] })
    }
  })

  it('takes a list of its own and refuses settings below OWASP floors', () => {
    expect(new PasswordPolicy({ minLength: 8, commonPasswords: ['hunter2hunter2'] }).problems('Hunter2Hunter2').map((p) => p.rule)).toEqual(['common'])
    expect(() => new PasswordPolicy({ minLength: 6 })).toThrow(/at least 8/)
    expect(() => new PasswordPolicy({ maxLength: 32 })).toThrow(/at least 64/)
  })
})
