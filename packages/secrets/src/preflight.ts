/**
 * The secrets' preflight checks: the store answers (Vault logged in), every secret the app
 * declares is present and none is a placeholder, and the Vault token lives long enough.
 */
import { definePreflight, isPlaceholder, type AnyProvider, type PreflightCheck, type PreflightContext } from '@plinth/core'
import type { SecretCache } from './cache.js'
import { ChainSecrets } from './chain.js'
import { secretsProviders } from './component.js'
import type { SecretStore } from './contract.js'
import { VaultSecrets } from './vault.js'


function vaultOf(store: SecretStore): VaultSecrets | undefined {
  if (store instanceof VaultSecrets) return store
  if (store instanceof ChainSecrets) return store.stores.map(vaultOf).find(Boolean)
  return undefined
}

function checksFor(provider: AnyProvider, settings: { require: readonly string[]; minTokenTtl: number }): PreflightCheck[] {
  let opened: Promise<SecretCache> | undefined
  const open = (context: PreflightContext) =>
    (opened ??= (async () => {
      const cache = (await context.resolve(provider.provides)) as SecretCache
      context.onCleanup(() => cache.close())
      return cache
    })())
  return [
    {
      category: 'secrets',
      name: 'store reachable',
      run: async (context) => {
        const cache = await open(context)
        const vault = vaultOf(cache.store)
        if (!vault) return { status: 'pass', found: `${cache.store.name}: the process environment` }
        await vault.token.current(context.signal)
        return { status: 'pass', found: `Vault at ${vault.addr}, logged in (${vault.token.method})` }
      },
    },
    {
      category: 'secrets',
      name: 'declared secrets present',
      run: async (context) => {
        if (settings.require.length === 0) return { status: 'pass', found: 'none declared (secrets({ require: [...] }))' }
        const cache = await open(context)
        const missing: string[] = []
        const placeholders: string[] = []
        await Promise.all(
          settings.require.map(async (name) => {
            // A bare name is an environment variable.
            const value = await cache.get(name.includes(':') ? name : `env:${name}`, context.signal).catch(() => undefined)
            if (value === undefined) missing.push(name)
            else if (isPlaceholder(value)) placeholders.push(name)
          }),
        )
        if (missing.length > 0) return { status: 'fail', found: `missing: ${missing.sort().join(', ')}`, fix: `store ${missing.join(', ')} in ${cache.store.name} (or the environment variables they name)` }
        if (placeholders.length > 0) return { status: 'fail', found: `placeholder values: ${placeholders.sort().join(', ')}`, fix: 'replace them with the real secrets; placeholders such as changeme must never reach production' }
        return { status: 'pass', found: `${settings.require.length} present, none a placeholder` }
      },
    },
    {
      category: 'secrets',
      name: 'Vault token TTL',
      run: async (context) => {
        const cache = await open(context)
        const vault = vaultOf(cache.store)
        if (!vault) return { status: 'pass', found: 'no Vault' }
        await vault.token.current(context.signal)
        const { expiresAt, renewable } = vault.token
        if (expiresAt === undefined) return { status: 'pass', found: 'the token does not expire' }
        const left = Math.round((expiresAt - Date.now()) / 1000)
        if (renewable || vault.token.method === 'approle') return { status: 'pass', found: `${left} s left, ${renewable ? 'renewed' : 'logged in again'} before it ends` }
        if (left * 1000 < settings.minTokenTtl) {
          return { status: 'fail', found: `${left} s left and not renewable`, fix: `issue a renewable token, or one that lives longer than ${Math.round(settings.minTokenTtl / 1000)} s, or log in with AppRole (VAULT_ROLE_ID, VAULT_SECRET_ID)` }
        }
        return { status: 'warn', found: `${left} s left and not renewable: secrets stop refreshing when it ends`, fix: 'issue a renewable token, or log in with AppRole' }
      },
    },
  ]
}

definePreflight(({ providers }) => providers.flatMap((p) => (secretsProviders.has(p) ? checksFor(p, secretsProviders.get(p)!) : [])))
