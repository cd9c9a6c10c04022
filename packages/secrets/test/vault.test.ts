import { afterEach, describe, expect, it } from 'vitest'
import { ChainSecrets, EnvSecrets, VaultSecrets, parseSecretReference, type VaultAuth } from '../src/index.js'
import { secretStoreConformance } from './conformance.js'
import { logSpy, until } from './log-spy.js'
import { startTestVault, type TestVault } from './vault-server.js'

const cleanup: Array<() => Promise<unknown>> = []
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn()
})

async function vaultWith(seed: (vault: TestVault) => void = () => {}): Promise<TestVault> {
  const vault = await startTestVault()
  seed(vault)
  cleanup.push(() => vault.close())
  return vault
}

function storeFor(vault: TestVault, auth: VaultAuth = { token: vault.rootToken }, extra: Partial<ConstructorParameters<typeof VaultSecrets>[0]> = {}): VaultSecrets {
  const store = new VaultSecrets({ addr: vault.addr, auth, ...extra })
  cleanup.push(() => store.close())
  return store
}

const ref = (text: string) => parseSecretReference(text)

secretStoreConformance('vault', async () => {
  const vault = await startTestVault()
  vault.put('secret', 'conformance', { greeting: 'hello-conformance' })
  const store = new VaultSecrets({ addr: vault.addr, auth: { token: vault.rootToken } })
  return {
    store,
    present: ref('vault:secret/data/conformance#greeting'),
    absent: ref('vault:secret/data/nothing-here#greeting'),
    close: async () => {
      await store.close()
      await vault.close()
    },
  }
})

secretStoreConformance('chain(vault, env)', async () => {
  const vault = await startTestVault()
  const store = new ChainSecrets([new VaultSecrets({ addr: vault.addr, auth: { token: vault.rootToken } }), new EnvSecrets({ GREETING: 'hello-conformance' })])
  return {
    store,
    present: { label: 'greeting', env: 'GREETING' },
    absent: { label: 'missing', env: 'NOT_SET_ANYWHERE' },
    close: async () => {
      await store.close()
      await vault.close()
    },
  }
})

describe('VaultSecrets: KV version 2 reads', () => {
  it('reads the latest version of a field, says the version, and sends the token in X-Vault-Token', async () => {
    const vault = await vaultWith((v) => {
      v.put('secret', 'app', { openaiApiKey: 'sk-one' })
      v.put('secret', 'app', { openaiApiKey: 'sk-two' })
    })
    const secret = await storeFor(vault).read(ref('vault:secret/data/app#openaiApiKey'))
    expect(secret).toEqual({ value: 'sk-two', source: 'vault secret/data/app#openaiApiKey', version: 2 })
    const read = vault.requests.find((r) => r.path === '/v1/secret/data/app')
    expect(read?.tokenHeader).toBe('x-vault-token')
  })

  it('reads a pinned version with @N', async () => {
    const vault = await vaultWith((v) => {
      v.put('secret', 'app', { openaiApiKey: 'sk-one' })
      v.put('secret', 'app', { openaiApiKey: 'sk-two' })
    })
    const secret = await storeFor(vault).read(ref('vault:secret/data/app#openaiApiKey@1'))
    expect(secret?.value).toBe('sk-one')
    expect(vault.requests.some((r) => r.path === '/v1/secret/data/app?version=1')).toBe(true)
  })

  it('checks each mount once with the preflight the vault CLI makes', async () => {
    const vault = await vaultWith((v) => v.put('secret', 'app', { a: '1', b: '2' }))
    const store = storeFor(vault)
    await store.read(ref('vault:secret/data/app#a'))
    await store.read(ref('vault:secret/data/app#b'))
    expect(vault.requests.filter((r) => r.path === '/v1/sys/internal/ui/mounts/secret')).toHaveLength(1)
  })

  it('refuses a path that does not exist, naming it', async () => {
    const vault = await vaultWith()
    await expect(storeFor(vault).read(ref('vault:secret/data/missing#key'))).rejects.toMatchObject({
      code: 'PLINTH_ERR_SECRET_NOT_FOUND',
      message: expect.stringContaining('there is no secret at secret/data/missing'),
    })
  })

  it('refuses a field the secret does not have, listing the fields it has', async () => {
    const vault = await vaultWith((v) => v.put('secret', 'app', { openaiApiKey: 'sk' }))
    await expect(storeFor(vault).read(ref('vault:secret/data/app#password'))).rejects.toMatchObject({
      code: 'PLINTH_ERR_SECRET_NOT_FOUND',
      message: expect.stringContaining('no field "password" in it (its fields: openaiApiKey)'),
    })
  })

  it('says a deleted latest version was deleted', async () => {
    const vault = await vaultWith((v) => {
      v.put('secret', 'app', { k: 'v1' })
      v.deleteLatest('secret', 'app')
    })
    await expect(storeFor(vault).read(ref('vault:secret/data/app#k'))).rejects.toMatchObject({ code: 'PLINTH_ERR_SECRET_NOT_FOUND', message: expect.stringContaining('version 1 of secret/data/app was deleted') })
  })

  it('refuses a KV version 1 mount with its own error instead of "not found"', async () => {
    const vault = await vaultWith((v) => {
      v.mount('legacy', 1)
      v.put('legacy', 'app', { key: 'value' })
    })
    await expect(storeFor(vault).read(ref('vault:legacy/data/app#key'))).rejects.toMatchObject({
      code: 'PLINTH_ERR_SECRET_KV_VERSION',
      message: expect.stringContaining('the mount "legacy/" of Vault at'),
    })
  })

  it('refuses a mount that does not exist', async () => {
    const vault = await vaultWith()
    await expect(storeFor(vault).read(ref('vault:nomount/data/app#key'))).rejects.toMatchObject({ code: 'PLINTH_ERR_SECRET_NOT_FOUND', message: expect.stringContaining('no secrets engine mounted at "nomount/"') })
  })

  it('reports a bad token as refused (403), without the token in the message', async () => {
    const vault = await vaultWith((v) => v.put('secret', 'app', { k: 'v' }))
    const error = await storeFor(vault, { token: 'hvs.not-a-real-token' }).read(ref('vault:secret/data/app#k')).then(
      () => undefined,
      (e: unknown) => e as Error,
    )
    expect(error).toMatchObject({ code: 'PLINTH_ERR_VAULT_DENIED' })
    expect(error?.message).not.toContain('hvs.not-a-real-token')
  })

  it('reports a sealed Vault as sealed (503), and reads again once unsealed', async () => {
    const vault = await vaultWith((v) => v.put('secret', 'app', { k: 'v' }))
    const store = storeFor(vault)
    vault.seal()
    await expect(store.read(ref('vault:secret/data/app#k'))).rejects.toMatchObject({ code: 'PLINTH_ERR_VAULT_SEALED' })
    vault.unseal()
    expect((await store.read(ref('vault:secret/data/app#k')))?.value).toBe('v')
  })

  it('reports an address where nothing listens as unreachable', async () => {
    const vault = await startTestVault()
    await vault.close()
    const store = new VaultSecrets({ addr: vault.addr, auth: { token: 'x' }, timeout: 2_000 })
    await expect(store.read(ref('vault:secret/data/app#k'))).rejects.toMatchObject({ code: 'PLINTH_ERR_VAULT_UNREACHABLE', message: expect.stringContaining(vault.addr) })
  })

  it('refuses an address that is not an http(s) URL', () => {
    expect(() => new VaultSecrets({ addr: 'vault.internal:8200', auth: { token: 'x' } })).toThrow(expect.objectContaining({ code: 'PLINTH_ERR_SECRETS_SETTINGS' }) as Error)
  })
})

describe('VaultSecrets: authentication and renewal', () => {
  it('logs in with AppRole and reads with the token it got', async () => {
    let role = { roleId: '', secretId: '' }
    const vault = await vaultWith((v) => {
      v.put('secret', 'app', { k: 'from-approle' })
      role = v.addAppRole('reference', { ttl: 60 })
    })
    const store = storeFor(vault, role)
    expect((await store.read(ref('vault:secret/data/app#k')))?.value).toBe('from-approle')
    expect(vault.requests[0]).toMatchObject({ method: 'POST', path: '/v1/auth/approle/login', status: 200 })
    expect(store.health()).toMatchObject({ status: 'up', details: { auth: 'approle', state: 'active', renewable: true } })
  })

  it('refuses a wrong AppRole secret id with a login error', async () => {
    let role = { roleId: '', secretId: '' }
    const vault = await vaultWith((v) => (role = v.addAppRole('reference')))
    await expect(storeFor(vault, { ...role, secretId: 'wrong' }).read(ref('vault:secret/data/app#k'))).rejects.toMatchObject({
      code: 'PLINTH_ERR_VAULT_LOGIN',
      message: expect.stringContaining('invalid role or secret ID'),
    })
  })

  it('renews a token at a fraction of its TTL, so that it outlives its first TTL', async () => {
    const vault = await vaultWith((v) => v.put('secret', 'app', { k: 'v' }))
    const token = vault.createToken({ ttl: 1, maxTtl: 60 })
    const store = storeFor(vault, { token }, { renewal: { fraction: 0.5 } })
    await store.read(ref('vault:secret/data/app#k'))
    expect(vault.requests.some((r) => r.path === '/v1/auth/token/lookup-self')).toBe(true)
    await until(() => vault.requests.filter((r) => r.path === '/v1/auth/token/renew-self' && r.status === 200).length >= 3, 'three renewals')
    // Three renewals at half of a 1 s TTL: well past the first second, and the token still reads.
    expect((await store.read(ref('vault:secret/data/app#k')))?.value).toBe('v')
    expect(store.health()).toMatchObject({ status: 'up', details: { state: 'active' } })
  })

  it('retries a failed renewal with backoff while the token lives, and carries on once Vault is back', async () => {
    const vault = await vaultWith((v) => v.put('secret', 'app', { k: 'v' }))
    const token = vault.createToken({ ttl: 3, maxTtl: 60 })
    const { log, records } = logSpy()
    const store = storeFor(vault, { token }, { renewal: { fraction: 0.3, initialDelay: 50, maxDelay: 100 }, log })
    await store.read(ref('vault:secret/data/app#k'))
    vault.seal()
    await until(() => store.token.state === 'retrying', 'the renewal to fail')
    expect(store.health()).toMatchObject({ status: 'degraded', details: { state: 'retrying', error: expect.stringContaining('sealed') } })
    await until(() => vault.requests.filter((r) => r.path === '/v1/auth/token/renew-self' && r.status === 503).length >= 3, 'retries')
    vault.unseal()
    await until(() => store.token.state === 'active', 'the renewal to succeed')
    // Reported once for the whole episode, not once per retry.
    expect(records().filter((r) => String(r.msg).includes('renewal failed'))).toHaveLength(1)
  })

  it('reports a token that cannot be renewed once, in the log and in health, and the chain falls back to the environment', async () => {
    const vault = await vaultWith((v) => v.put('secret', 'app', { openaiApiKey: 'sk-vault' }))
    const token = vault.createToken({ ttl: 1, renewable: false })
    const { log, records } = logSpy()
    const store = new VaultSecrets({ addr: vault.addr, auth: { token }, renewal: { fraction: 0.5 }, log })
    const chain = new ChainSecrets([store, new EnvSecrets({ OPENAI_API_KEY: 'sk-env' })], { log })
    cleanup.push(() => chain.close())
    const request = parseSecretReference('vault:secret/data/app#openaiApiKey', { fallbackEnv: 'OPENAI_API_KEY' })
    expect((await chain.read(request))?.source).toBe('vault secret/data/app#openaiApiKey')
    await until(() => store.token.state === 'failed', 'the token to be given up')
    expect(store.health()).toMatchObject({ status: 'down', details: { state: 'failed', error: expect.stringContaining('not renewable') } })
    const first = await chain.read(request)
    const second = await chain.read(request)
    expect([first?.source, second?.source]).toEqual(['env OPENAI_API_KEY', 'env OPENAI_API_KEY'])
    expect(records().filter((r) => r.level === 50 && String(r.msg).includes('cannot be renewed'))).toHaveLength(1)
    expect(records().filter((r) => String(r.msg).includes('next source of the chain answers meanwhile'))).toHaveLength(1)
    expect(chain.health()).toMatchObject({ status: 'degraded', details: { vault: { status: 'down' } } })
  })

  it('logs in again with AppRole when its token is refused (revoked), without the caller noticing', async () => {
    let role = { roleId: '', secretId: '' }
    const vault = await vaultWith((v) => {
      v.put('secret', 'app', { k: 'v' })
      role = v.addAppRole('reference', { ttl: 60 })
    })
    const store = storeFor(vault, role)
    await store.read(ref('vault:secret/data/app#k'))
    const first = vault.requests.filter((r) => r.path === '/v1/auth/approle/login').length
    // Revoke every token the role got: the next read is refused once, then logs in again.
    vault.revokeAll()
    expect((await store.read(ref('vault:secret/data/app#k')))?.value).toBe('v')
    expect(vault.requests.filter((r) => r.path === '/v1/auth/approle/login')).toHaveLength(first + 1)
  })

  it('logs in again with AppRole when its token reaches its max TTL', async () => {
    let role = { roleId: '', secretId: '' }
    const vault = await vaultWith((v) => {
      v.put('secret', 'app', { k: 'v' })
      role = v.addAppRole('reference', { ttl: 1, maxTtl: 1 })
    })
    const store = storeFor(vault, role, { renewal: { fraction: 0.5 } })
    await store.read(ref('vault:secret/data/app#k'))
    await until(() => vault.requests.filter((r) => r.path === '/v1/auth/approle/login' && r.status === 200).length >= 2, 'a second login')
    expect((await store.read(ref('vault:secret/data/app#k')))?.value).toBe('v')
    expect(store.token.state).toBe('active')
  })
})

describe('ChainSecrets', () => {
  it('does not fall back when Vault says the secret does not exist: that is a mistake to fix, not an outage', async () => {
    const vault = await vaultWith()
    const chain = new ChainSecrets([storeFor(vault), new EnvSecrets({ OPENAI_API_KEY: 'sk-env' })])
    await expect(chain.read(parseSecretReference('vault:secret/data/missing#k', { fallbackEnv: 'OPENAI_API_KEY' }))).rejects.toMatchObject({ code: 'PLINTH_ERR_SECRET_NOT_FOUND' })
  })

  it('says which sources failed when none can answer', async () => {
    const vault = await vaultWith((v) => v.put('secret', 'app', { k: 'v' }))
    vault.seal()
    const chain = new ChainSecrets([storeFor(vault), new EnvSecrets({})])
    await expect(chain.read(parseSecretReference('vault:secret/data/app#k', { fallbackEnv: 'APP_K' }))).rejects.toMatchObject({
      code: 'PLINTH_ERR_SECRET_UNAVAILABLE',
      message: expect.stringMatching(/no source could give the secret vault:secret\/data\/app#k: Vault at .* is sealed .*, and the environment variable APP_K is not set/),
    })
  })
})
