/**
 * A small HashiCorp Vault server for tests, written from Vault's HTTP API documentation
 * (https://developer.hashicorp.com/vault/api-docs): what @plinth/secrets speaks, answered the way
 * Vault answers it, so that the provider is tested over the wire and never by mocking its calls.
 *
 * - KV version 2 (`/v1/<mount>/data/<path>`, `?version=N`, `/v1/<mount>/metadata/<path>`), with
 *   versions, soft deletes and metadata; KV version 1 mounts (`/v1/<mount>/<path>`) to be told apart;
 * - the mount preflight the vault CLI makes (`/v1/sys/internal/ui/mounts/<path>`), which says a
 *   mount's engine and KV version;
 * - tokens with TTLs and max TTLs: `auth/token/lookup-self`, `auth/token/renew-self`; AppRole
 *   login (`auth/approle/login`);
 * - `X-Vault-Token` (or `Authorization: Bearer`), 403 `permission denied` for a missing, unknown
 *   or expired token, 503 `Vault is sealed` for everything but sys/health and sys/seal-status
 *   while sealed; every error body is `{"errors": [...]}`.
 *
 * TTLs are in seconds, as Vault counts them; tokens expire on the wall clock.
 */
import { randomUUID } from 'node:crypto'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'

export interface TokenOptions {
  /** Seconds until the token expires; 0 for a token that never does (like root). */
  readonly ttl?: number
  /** Seconds past which renewals no longer extend the token. Default 10 × ttl. */
  readonly maxTtl?: number
  readonly renewable?: boolean
  readonly policies?: readonly string[]
}

interface TokenEntry {
  readonly id: string
  readonly accessor: string
  readonly policies: readonly string[]
  readonly renewable: boolean
  readonly createdAt: number
  /** Seconds. */
  readonly ttl: number
  /** Seconds, counted from creation. */
  readonly maxTtl: number
  expiresAt: number | undefined
  readonly path: string
  readonly meta: Record<string, string> | null
}

interface Version {
  readonly data: Record<string, unknown>
  readonly createdTime: string
  deletionTime: string
  destroyed: boolean
}

interface KvSecret {
  readonly versions: Version[]
  readonly customMetadata: Record<string, string> | null
  readonly createdTime: string
}

interface Mount {
  readonly path: string
  readonly version: 1 | 2
  /** KV v2: path -> its versions. KV v1: path -> data. */
  readonly v2: Map<string, KvSecret>
  readonly v1: Map<string, Record<string, unknown>>
}

interface AppRole {
  readonly roleId: string
  readonly secretIds: Set<string>
  readonly token: TokenOptions
  readonly name: string
}

/** A request as the server received it, for tests that check how the client spoke. */
export interface VaultRequest {
  readonly method: string
  readonly path: string
  /** Which header carried the token, if any. */
  readonly tokenHeader: 'x-vault-token' | 'authorization' | undefined
  readonly status: number
}

export interface TestVault {
  /** `http://127.0.0.1:<port>`: VAULT_ADDR. */
  readonly addr: string
  /** A token that never expires and may do anything. */
  readonly rootToken: string
  readonly requests: VaultRequest[]
  /** Mounts a KV engine at `path` (`secret`, `kv`, `team/apps`). `secret` is mounted as KV v2 from the start. */
  mount(path: string, version: 1 | 2): void
  /** Writes a new version (KV v2) or the value (KV v1); returns the version number (1 on KV v1). */
  put(mount: string, path: string, data: Record<string, unknown>, customMetadata?: Record<string, string>): number
  /** Soft-deletes the latest version of a KV v2 secret, as `DELETE /v1/<mount>/data/<path>` does. */
  deleteLatest(mount: string, path: string): void
  /** Creates a token, as `auth/token/create` would. */
  createToken(options?: TokenOptions): string
  /** Revokes a token: from now on it is denied. */
  revoke(token: string): void
  /** Revokes every token but the root token. */
  revokeAll(): void
  /** Declares an AppRole; returns its role id and a secret id. */
  addAppRole(name: string, token?: TokenOptions): { roleId: string; secretId: string }
  seal(): void
  unseal(): void
  close(): Promise<void>
}

const json = (res: ServerResponse, status: number, body: unknown) => {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify(body))
}

const errors = (res: ServerResponse, status: number, ...messages: string[]) => json(res, status, { errors: messages })

/** The envelope every Vault answer comes in. */
const envelope = (fields: { data?: unknown; auth?: unknown; lease_duration?: number; renewable?: boolean; warnings?: string[] | null }) => ({
  request_id: randomUUID(),
  lease_id: '',
  renewable: fields.renewable ?? false,
  lease_duration: fields.lease_duration ?? 0,
  data: fields.data ?? null,
  wrap_info: null,
  warnings: fields.warnings ?? null,
  auth: fields.auth ?? null,
})

async function readBody(request: IncomingMessage): Promise<Record<string, unknown>> {
  let text = ''
  for await (const chunk of request) text += String(chunk)
  if (text.trim() === '') return {}
  return JSON.parse(text) as Record<string, unknown>
}

/** Vault's duration strings: `3600`, `"3600"`, `"1h"`, `"30m"`, `"45s"`. */
function seconds(value: unknown): number | undefined {
  if (typeof value === 'number') return value
  if (typeof value !== 'string') return undefined
  const match = /^(\d+)([smh]?)$/.exec(value.trim())
  if (!match) return undefined
  const unit = match[2] === 'h' ? 3600 : match[2] === 'm' ? 60 : 1
  return Number(match[1]) * unit
}

/**
 * Starts the server on a free port of 127.0.0.1.
 *
 * @example
 * const vault = await startTestVault()
 * vault.put('secret', 'app', { openaiApiKey: 'sk-test' })
 * const token = vault.createToken({ ttl: 60 })
 * // VAULT_ADDR=vault.addr VAULT_TOKEN=token
 * await vault.close()
 */
export async function startTestVault(): Promise<TestVault> {
  const mounts = new Map<string, Mount>()
  const tokens = new Map<string, TokenEntry>()
  const roles = new Map<string, AppRole>()
  const requests: VaultRequest[] = []
  let sealed = false
  const now = () => Date.now()
  const iso = () => new Date().toISOString()

  const issue = (options: TokenOptions, path: string, meta: Record<string, string> | null = null): TokenEntry => {
    const ttl = options.ttl ?? 3600
    const entry: TokenEntry = {
      id: `hvs.${randomUUID().replaceAll('-', '')}`,
      accessor: randomUUID(),
      policies: options.policies ?? ['default'],
      renewable: options.renewable ?? ttl > 0,
      createdAt: now(),
      ttl,
      maxTtl: options.maxTtl ?? ttl * 10,
      expiresAt: ttl > 0 ? now() + ttl * 1000 : undefined,
      path,
      meta,
    }
    tokens.set(entry.id, entry)
    return entry
  }
  const root = issue({ ttl: 0, renewable: false, policies: ['root'] }, 'auth/token/root')

  const mount = (path: string, version: 1 | 2) => {
    const clean = path.replace(/^\/+|\/+$/g, '')
    mounts.set(clean, { path: clean, version, v2: new Map(), v1: new Map() })
  }
  mount('secret', 2)

  /** The mount a request path falls under (longest prefix), and the rest of the path. */
  const mountOf = (path: string): { mount: Mount; rest: string } | undefined => {
    let best: Mount | undefined
    for (const candidate of mounts.values()) {
      if ((path === candidate.path || path.startsWith(`${candidate.path}/`)) && (!best || candidate.path.length > best.path.length)) best = candidate
    }
    return best ? { mount: best, rest: path.slice(best.path.length + 1) } : undefined
  }

  const liveToken = (request: IncomingMessage): TokenEntry | undefined => {
    const header = request.headers['x-vault-token']
    const bearer = request.headers.authorization?.replace(/^Bearer\s+/i, '')
    const id = (Array.isArray(header) ? header[0] : header) ?? bearer
    const entry = id ? tokens.get(id) : undefined
    if (!entry) return undefined
    if (entry.expiresAt !== undefined && entry.expiresAt <= now()) {
      tokens.delete(entry.id)
      return undefined
    }
    return entry
  }

  const remaining = (entry: TokenEntry) => (entry.expiresAt === undefined ? 0 : Math.max(0, Math.round((entry.expiresAt - now()) / 1000)))

  const versionMetadata = (secret: KvSecret, number: number) => {
    const version = secret.versions[number - 1]!
    return { created_time: version.createdTime, custom_metadata: secret.customMetadata, deletion_time: version.deletionTime, destroyed: version.destroyed, version: number }
  }

  const handle = async (req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> => {
    const path = url.pathname.replace(/^\/v1\//, '')
    if (!url.pathname.startsWith('/v1/')) return errors(res, 404, `no handler for route "${url.pathname}". route entry not found.`)
    if (path === 'sys/health') return json(res, sealed ? 503 : 200, { initialized: true, sealed, standby: false, version: '1.17.0', cluster_name: 'test' })
    if (path === 'sys/seal-status') return json(res, 200, { type: 'shamir', initialized: true, sealed, t: 1, n: 1, progress: 0, version: '1.17.0' })
    if (sealed) return errors(res, 503, 'Vault is sealed')

    if (path === 'auth/approle/login' && req.method === 'POST') {
      const body = await readBody(req)
      const role = [...roles.values()].find((r) => r.roleId === body.role_id)
      if (!role) return errors(res, 400, 'invalid role or secret ID')
      if (typeof body.secret_id !== 'string' || !role.secretIds.has(body.secret_id)) return errors(res, 400, 'invalid role or secret ID')
      const entry = issue(role.token, 'auth/approle/login', { role_name: role.name })
      return json(res, 200, envelope({ auth: { client_token: entry.id, accessor: entry.accessor, policies: entry.policies, token_policies: entry.policies, metadata: entry.meta, lease_duration: entry.ttl, renewable: entry.renewable, entity_id: '', token_type: 'service', orphan: true } }))
    }

    const token = liveToken(req)
    if (!token) return errors(res, 403, 'permission denied')

    if (path === 'auth/token/lookup-self' && req.method === 'GET') {
      return json(res, 200, envelope({
        data: {
          accessor: token.accessor,
          creation_time: Math.floor(token.createdAt / 1000),
          creation_ttl: token.ttl,
          display_name: token.path === 'auth/approle/login' ? 'approle' : 'token',
          expire_time: token.expiresAt === undefined ? null : new Date(token.expiresAt).toISOString(),
          explicit_max_ttl: 0,
          id: token.id,
          meta: token.meta,
          num_uses: 0,
          orphan: true,
          path: token.path,
          policies: token.policies,
          renewable: token.renewable,
          ttl: remaining(token),
          type: 'service',
        },
      }))
    }
    if (path === 'auth/token/renew-self' && (req.method === 'POST' || req.method === 'PUT')) {
      const body = await readBody(req)
      if (!token.renewable) return errors(res, 400, 'lease is not renewable')
      const increment = seconds(body.increment) ?? token.ttl
      const ceiling = token.createdAt + token.maxTtl * 1000
      const wanted = now() + increment * 1000
      const warnings = wanted > ceiling ? [`TTL of "${increment}s" exceeded the effective max_ttl of "${Math.max(0, Math.round((ceiling - now()) / 1000))}s"; TTL value is capped accordingly`] : null
      token.expiresAt = Math.min(wanted, ceiling)
      return json(res, 200, envelope({ warnings, auth: { client_token: token.id, accessor: token.accessor, policies: token.policies, token_policies: token.policies, metadata: token.meta, lease_duration: remaining(token), renewable: token.renewable, token_type: 'service', orphan: true } }))
    }

    if (path.startsWith('sys/internal/ui/mounts/') && req.method === 'GET') {
      const found = mountOf(path.slice('sys/internal/ui/mounts/'.length).replace(/\/+$/, ''))
      if (!found) return errors(res, 400, `path "${path.slice('sys/internal/ui/mounts/'.length)}" does not match any mounts`)
      return json(res, 200, envelope({ data: { path: `${found.mount.path}/`, type: 'kv', description: 'key/value secret storage', options: { version: String(found.mount.version) }, local: false, seal_wrap: false } }))
    }

    const found = mountOf(path)
    if (!found) return errors(res, 404, `no handler for route "${path}". route entry not found.`)
    const { mount: kv, rest } = found
    if (kv.version === 1) {
      if (req.method !== 'GET') return errors(res, 405, 'unsupported operation')
      const data = kv.v1.get(rest)
      if (!data) return errors(res, 404)
      // KV v1 reports its advisory `ttl` key (or the mount's default, 768h) as the lease.
      return json(res, 200, envelope({ data, lease_duration: seconds(data.ttl) ?? 2_764_800 }))
    }
    const [section, ...segments] = rest.split('/')
    const key = segments.join('/')
    const secret = kv.v2.get(key)
    if (section === 'data' && req.method === 'GET') {
      if (!secret) return errors(res, 404)
      const asked = url.searchParams.get('version')
      const number = asked === null || asked === '0' ? secret.versions.length : Number(asked)
      const version = secret.versions[number - 1]
      if (!version) return errors(res, 404)
      if (version.deletionTime !== '' || version.destroyed) return json(res, 404, envelope({ data: { data: null, metadata: versionMetadata(secret, number) } }))
      return json(res, 200, envelope({ data: { data: version.data, metadata: versionMetadata(secret, number) } }))
    }
    if (section === 'metadata' && req.method === 'GET') {
      if (!secret) return errors(res, 404)
      const versions = Object.fromEntries(secret.versions.map((v, i) => [String(i + 1), { created_time: v.createdTime, deletion_time: v.deletionTime, destroyed: v.destroyed }]))
      return json(res, 200, envelope({
        data: {
          cas_required: false,
          created_time: secret.createdTime,
          current_version: secret.versions.length,
          custom_metadata: secret.customMetadata,
          delete_version_after: '0s',
          max_versions: 0,
          oldest_version: 1,
          updated_time: secret.versions.at(-1)!.createdTime,
          versions,
        },
      }))
    }
    return errors(res, 405, 'unsupported operation')
  }

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://vault')
    const tokenHeader = req.headers['x-vault-token'] !== undefined ? 'x-vault-token' : req.headers.authorization ? 'authorization' : undefined
    res.on('finish', () => requests.push({ method: req.method ?? 'GET', path: url.pathname + url.search, tokenHeader, status: res.statusCode }))
    handle(req, res, url).catch((error: unknown) => errors(res, 500, (error as Error).message))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }

  return {
    addr: `http://127.0.0.1:${port}`,
    rootToken: root.id,
    requests,
    mount,
    put(mountPath, path, data, customMetadata) {
      const kv = mounts.get(mountPath)
      if (!kv) throw new Error(`no mount "${mountPath}"`)
      if (kv.version === 1) {
        kv.v1.set(path, structuredClone(data))
        return 1
      }
      const existing = kv.v2.get(path)
      const secret = existing ?? { versions: [], customMetadata: customMetadata ?? null, createdTime: iso() }
      secret.versions.push({ data: structuredClone(data), createdTime: iso(), deletionTime: '', destroyed: false })
      kv.v2.set(path, customMetadata && existing ? { ...secret, customMetadata } : secret)
      return secret.versions.length
    },
    deleteLatest(mountPath, path) {
      const version = mounts.get(mountPath)?.v2.get(path)?.versions.at(-1)
      if (!version) throw new Error(`no secret "${mountPath}/${path}"`)
      version.deletionTime = iso()
    },
    createToken: (options = {}) => issue(options, 'auth/token/create').id,
    revoke: (token) => void tokens.delete(token),
    revokeAll: () => {
      for (const id of tokens.keys()) if (id !== root.id) tokens.delete(id)
    },
    addAppRole(name, token = {}) {
      const role: AppRole = { name, roleId: randomUUID(), secretIds: new Set([randomUUID()]), token }
      roles.set(name, role)
      return { roleId: role.roleId, secretId: [...role.secretIds][0]! }
    },
    seal: () => void (sealed = true),
    unseal: () => void (sealed = false),
    close: () => {
      server.closeAllConnections()
      return new Promise((resolve) => server.close(() => resolve()))
    },
  }
}
