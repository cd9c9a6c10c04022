import { afterEach, describe, expect, it } from 'vitest'
import { ChainSecrets, EnvSecrets, SecretCache, VaultSecrets, parseSecretReference, type SecretStore, type SecretValue } from '../src/index.js'
import { logSpy, until } from './log-spy.js'
import { startTestVault, type TestVault } from './vault-server.js'

const cleanup: Array<() => Promise<unknown>> = []
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn()
})

async function vaultCache(options: ConstructorParameters<typeof SecretCache>[1] = {}): Promise<{ vault: TestVault; cache: SecretCache }> {
  const vault = await startTestVault()
  vault.put('secret', 'db', { password: 'first-password' })
  const cache = new SecretCache(new VaultSecrets({ addr: vault.addr, auth: { token: vault.rootToken } }), options)
  cleanup.push(() => vault.close(), () => cache.close())
  return { vault, cache }
}

const reads = (vault: TestVault) => vault.requests.filter((r) => r.path === '/v1/secret/data/db').length

describe('SecretCache', () => {
  it('serves a fresh value from the cache without asking Vault again', async () => {
    const { vault, cache } = await vaultCache()
    expect(await cache.get('vault:secret/data/db#password')).toBe('first-password')
    expect(await cache.get('vault:secret/data/db#password')).toBe('first-password')
    expect(reads(vault)).toBe(1)
  })

  it('reads again in the background before the TTL runs out, and tells watchers of a rotation', async () => {
    const { log, records } = logSpy()
    const { vault, cache } = await vaultCache({ ttl: 300, refreshAt: 0.5, log })
    const seen: Array<{ value: string; version: number | undefined }> = []
    cache.watch('vault:secret/data/db#password', (value, change) => seen.push({ value, version: change.version }))
    await until(() => reads(vault) >= 1, 'the first read')
    vault.put('secret', 'db', { password: 'rotated-password' })
    await until(() => seen.length === 1, 'the rotation to reach the watcher')
    expect(seen).toEqual([{ value: 'rotated-password', version: 2 }])
    // The change is logged with where it came from, never with what it is.
    const line = records().find((r) => String(r.msg).startsWith('secret vault:secret/data/db#password changed'))
    expect(line).toMatchObject({ source: 'vault secret/data/db#password', version: 2, previousVersion: 1 })
    expect(JSON.stringify(records())).not.toMatch(/first-password|rotated-password/)
  })

  it('keeps serving the cached value while a refresh fails, and says so in health', async () => {
    const { vault, cache } = await vaultCache({ ttl: 60_000 })
    await cache.get('vault:secret/data/db#password')
    vault.seal()
    await cache.refresh()
    expect(await cache.get('vault:secret/data/db#password')).toBe('first-password')
    const health = cache.health()
    expect(health).toMatchObject({ status: 'degraded', details: { secrets: [{ secret: 'vault:secret/data/db#password', source: 'vault secret/data/db#password', version: 1, error: expect.stringContaining('sealed') }] } })
  })

  it('says in health where each secret came from, and never its value', async () => {
    const vault = await startTestVault()
    vault.put('secret', 'db', { password: 'first-password' })
    const cache = new SecretCache(new ChainSecrets([new VaultSecrets({ addr: vault.addr, auth: { token: vault.rootToken } }), new EnvSecrets({ SMTP_PASSWORD: 'smtp-secret-value' })]))
    cleanup.push(() => vault.close(), () => cache.close())
    await cache.get('vault:secret/data/db#password')
    await cache.get('env:SMTP_PASSWORD')
    const health = cache.health()
    expect(health).toMatchObject({
      status: 'up',
      details: {
        store: 'chain(vault, env)',
        secrets: [
          { secret: 'vault:secret/data/db#password', source: 'vault secret/data/db#password', version: 1 },
          { secret: 'env:SMTP_PASSWORD', source: 'env SMTP_PASSWORD' },
        ],
      },
    })
    expect(JSON.stringify(health)).not.toMatch(/first-password|smtp-secret-value/)
  })

  it("takes the store's lease as the TTL where it gives one", async () => {
    let calls = 0
    const leased: SecretStore = {
      name: 'leased',
      read: () => Promise.resolve({ value: `v${++calls}`, source: 'leased', ttl: 1 } satisfies SecretValue),
    }
    const cache = new SecretCache(leased, { ttl: 3_600_000 })
    cleanup.push(() => cache.close())
    expect(await cache.get('env:ANY')).toBe('v1')
    await new Promise((resolve) => setTimeout(resolve, 5))
    // A 1 ms lease is over: the next read goes to the store, despite the cache's hour.
    expect(await cache.get('env:ANY')).not.toBe('v1')
  })

  it('rejects a secret no source has, naming where it looked', async () => {
    const cache = new SecretCache(new EnvSecrets({}))
    await expect(cache.get(parseSecretReference('vault:secret/data/app#key', { fallbackEnv: 'APP_KEY' }))).rejects.toMatchObject({
      code: 'PLINTH_ERR_SECRET_NOT_FOUND',
      message: expect.stringContaining('looked in Vault secret/data/app#key, then the environment variable APP_KEY'),
    })
    expect(cache.health()).toMatchObject({ status: 'down' })
  })

  it('refuses settings that make no sense', () => {
    expect(() => new SecretCache(new EnvSecrets({}), { ttl: 0 })).toThrow(expect.objectContaining({ code: 'PLINTH_ERR_SECRETS_SETTINGS' }) as Error)
    expect(() => new SecretCache(new EnvSecrets({}), { refreshAt: 1.5 })).toThrow(expect.objectContaining({ code: 'PLINTH_ERR_SECRETS_SETTINGS' }) as Error)
  })
})

describe('SecretCache.watchVariable', () => {
  it('watches the secret a variable was resolved from, and nothing for a variable that was not', async () => {
    const { vault, cache } = await vaultCache({ ttl: 60_000 })
    await cache.get('vault:secret/data/db#password')
    cache.describe('vault:secret/data/db#password', { variable: 'DB_PASSWORD', keys: ['db.password'] })
    const seen: string[] = []
    cache.watchVariable('DB_PASSWORD', (value) => seen.push(value))
    const unwatch = cache.watchVariable('PLAIN_VALUE', (value) => seen.push(`plain ${value}`))
    vault.put('secret', 'db', { password: 'second-password' })
    await cache.refresh()
    expect(seen).toEqual(['second-password'])
    unwatch()
  })
})
