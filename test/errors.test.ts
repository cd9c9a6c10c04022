/**
 * Every package's error catalogue, kept in step with the sources and docs/errors.md (as
 * fastify's test/internals/errors.test.js keeps its codes): a code cannot disappear, be claimed
 * by two packages, sit unused, be raised without an entry, or go undocumented. Catalogues are
 * found by path (`packages/<name>/src/errors.ts`), so a new package's is checked from its first
 * commit; adding codes means adding them to the pinned list below, on purpose.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs'
import { join, relative } from 'node:path'
import ts from 'typescript'
import { beforeAll, describe, expect, it } from 'vitest'
import { loadCatalogues, renderErrorsDoc } from '../scripts/errors-doc.js'
import type { ErrorCatalogue } from '../packages/core/src/index.js'

const root = new URL('..', import.meta.url).pathname

/** Every code of every package, sorted. A code leaves this list only by a decision to break its users. */
const PINNED_CODES = [
  'PLINTH_ERR_APP_LOAD_FAILED',
  'PLINTH_ERR_APP_NOT_FOUND',
  'PLINTH_ERR_ARTIFACT_CHECKSUM',
  'PLINTH_ERR_ARTIFACT_FETCH',
  'PLINTH_ERR_ASYNC_PROVIDER',
  'PLINTH_ERR_AUTH_EMAIL_TAKEN',
  'PLINTH_ERR_AUTH_FORBIDDEN',
  'PLINTH_ERR_AUTH_INVALID_CREDENTIALS',
  'PLINTH_ERR_AUTH_INVALID_INPUT',
  'PLINTH_ERR_AUTH_INVALID_OPTIONS',
  'PLINTH_ERR_AUTH_INVALID_REFRESH_TOKEN',
  'PLINTH_ERR_AUTH_LOCKED',
  'PLINTH_ERR_AUTH_UNAUTHENTICATED',
  'PLINTH_ERR_AUTH_UNKNOWN_ROLE',
  'PLINTH_ERR_AUTH_UNKNOWN_USER',
  'PLINTH_ERR_AUTH_WEAK_PASSWORD',
  'PLINTH_ERR_BOOTSTRAP_FAILED',
  'PLINTH_ERR_BOOTSTRAP_PATH',
  'PLINTH_ERR_BOOTSTRAP_TIMEOUT',
  'PLINTH_ERR_BOOT_FAILED',
  'PLINTH_ERR_BUILD_FAILED',
  'PLINTH_ERR_BUILD_TOOL_MISSING',
  'PLINTH_ERR_CACHE_CLOSED',
  'PLINTH_ERR_CACHE_INVALID_KEY',
  'PLINTH_ERR_CACHE_INVALID_NAMESPACE',
  'PLINTH_ERR_CACHE_INVALID_OPTIONS',
  'PLINTH_ERR_CACHE_INVALID_TAG',
  'PLINTH_ERR_CACHE_INVALID_TTL',
  'PLINTH_ERR_CACHE_UNSERIALISABLE',
  'PLINTH_ERR_CAPTIVE_DEPENDENCY',
  'PLINTH_ERR_CIRCUIT_OPEN',
  'PLINTH_ERR_CLI_USAGE',
  'PLINTH_ERR_COMMAND_INVALID',
  'PLINTH_ERR_CREATE_FAILED',
  'PLINTH_ERR_CYCLE',
  'PLINTH_ERR_DB_AUTH_FAILED',
  'PLINTH_ERR_DB_CONNECT_FAILED',
  'PLINTH_ERR_DB_CREATE_FAILED',
  'PLINTH_ERR_DB_INVALID_URL',
  'PLINTH_ERR_DB_NOT_FOUND',
  'PLINTH_ERR_DB_UNAVAILABLE',
  'PLINTH_ERR_DEPENDENCY_FAILED',
  'PLINTH_ERR_DISCOVERY_CLOSED',
  'PLINTH_ERR_DISCOVERY_INVALID_ADDRESS',
  'PLINTH_ERR_DISCOVERY_INVALID_INSTANCE',
  'PLINTH_ERR_DISCOVERY_INVALID_OPTION',
  'PLINTH_ERR_DISCOVERY_NO_INSTANCE',
  'PLINTH_ERR_DISCOVERY_REGISTRY_REJECTED',
  'PLINTH_ERR_DISCOVERY_REGISTRY_UNREACHABLE',
  'PLINTH_ERR_DISCOVERY_REQUEST_FAILED',
  'PLINTH_ERR_DISCOVERY_TIMEOUT',
  'PLINTH_ERR_DISPOSE_FAILED',
  'PLINTH_ERR_DUPLICATE_HANDLER',
  'PLINTH_ERR_DUPLICATE_HEALTH_CHECK',
  'PLINTH_ERR_DUPLICATE_MODULE',
  'PLINTH_ERR_DUPLICATE_PROVIDER',
  'PLINTH_ERR_DUPLICATE_TOKEN_NAME',
  'PLINTH_ERR_EVENTS_CONFLICT',
  'PLINTH_ERR_EVENTS_DUPLICATE_ID',
  'PLINTH_ERR_EVENTS_INVALID',
  'PLINTH_ERR_EVENTS_SETUP',
  'PLINTH_ERR_EVENTS_SUBSCRIPTION',
  'PLINTH_ERR_EVENTS_UNAVAILABLE',
  'PLINTH_ERR_EVENTS_UNKNOWN_PROJECTION',
  'PLINTH_ERR_EVENTS_UPCAST',
  'PLINTH_ERR_FLAGS_FILE',
  'PLINTH_ERR_FLAGS_INVALID',
  'PLINTH_ERR_FLAGS_UNKNOWN_CHECK',
  'PLINTH_ERR_GRPC_DRAIN_CUT',
  'PLINTH_ERR_HEALTH_CHECK_TIMEOUT',
  'PLINTH_ERR_HTTP_CORS_CREDENTIALS',
  'PLINTH_ERR_HTTP_DRAIN_CUT',
  'PLINTH_ERR_HTTP_NOT_STARTED',
  'PLINTH_ERR_IMPORT_CYCLE',
  'PLINTH_ERR_INVALID_BOOTSTRAP',
  'PLINTH_ERR_INVALID_CONFIG',
  'PLINTH_ERR_INVALID_GRAPH',
  'PLINTH_ERR_INVALID_GRAPHQL_SCHEMA',
  'PLINTH_ERR_INVALID_GRPC_SERVICE',
  'PLINTH_ERR_INVALID_METRIC',
  'PLINTH_ERR_INVALID_MODULE',
  'PLINTH_ERR_INVALID_OPTION',
  'PLINTH_ERR_INVALID_PROVIDER',
  'PLINTH_ERR_INVALID_STATE',
  'PLINTH_ERR_JOBS_ALREADY_FINISHED',
  'PLINTH_ERR_JOBS_CANCELLED',
  'PLINTH_ERR_JOBS_INVALID_CRON',
  'PLINTH_ERR_JOBS_INVALID_INPUT',
  'PLINTH_ERR_JOBS_INVALID_OPTION',
  'PLINTH_ERR_JOBS_INVALID_URL',
  'PLINTH_ERR_JOBS_MISSING_DEPENDENCY',
  'PLINTH_ERR_JOBS_NOT_FOUND',
  'PLINTH_ERR_JOBS_NOT_RETRYABLE',
  'PLINTH_ERR_JOBS_THREW_NON_ERROR',
  'PLINTH_ERR_JOBS_TIMEOUT',
  'PLINTH_ERR_JOBS_UNAVAILABLE',
  'PLINTH_ERR_JOBS_UNKNOWN_JOB',
  'PLINTH_ERR_JOBS_WORKER_LOST',
  'PLINTH_ERR_LISTEN_FAILED',
  'PLINTH_ERR_LOG_FILE',
  'PLINTH_ERR_MESSAGING_DEAD_LETTER_NOT_FOUND',
  'PLINTH_ERR_MESSAGING_INVALID_MESSAGE',
  'PLINTH_ERR_MESSAGING_INVALID_OPTIONS',
  'PLINTH_ERR_MESSAGING_INVALID_TOPIC',
  'PLINTH_ERR_MESSAGING_STOPPED',
  'PLINTH_ERR_MESSAGING_UNAVAILABLE',
  'PLINTH_ERR_MESSAGING_UNSUPPORTED_URL',
  'PLINTH_ERR_MIGRATIONS_PENDING',
  'PLINTH_ERR_MIGRATION_FAILED',
  'PLINTH_ERR_MIGRATION_INVALID',
  'PLINTH_ERR_MIGRATION_LOCK_TIMEOUT',
  'PLINTH_ERR_MISSING_PROVIDER',
  'PLINTH_ERR_MODULE_DEPENDENCY',
  'PLINTH_ERR_MODULE_DISCOVERY',
  'PLINTH_ERR_MODULE_IMPORT_FAILED',
  'PLINTH_ERR_MODULE_INIT_FAILED',
  'PLINTH_ERR_NO_DATABASE_DRIVER',
  'PLINTH_ERR_NO_SCOPE',
  'PLINTH_ERR_PLUGIN_CALL_FAILED',
  'PLINTH_ERR_PLUGIN_CHECKSUM',
  'PLINTH_ERR_PLUGIN_CRASHED',
  'PLINTH_ERR_PLUGIN_DEPENDENCY',
  'PLINTH_ERR_PLUGIN_DISCOVERY',
  'PLINTH_ERR_PLUGIN_DUPLICATE',
  'PLINTH_ERR_PLUGIN_INCOMPATIBLE',
  'PLINTH_ERR_PLUGIN_INSTALL',
  'PLINTH_ERR_PLUGIN_INVALID_MESSAGE',
  'PLINTH_ERR_PLUGIN_LIFECYCLE',
  'PLINTH_ERR_PLUGIN_MANIFEST',
  'PLINTH_ERR_PLUGIN_NOT_ACTIVE',
  'PLINTH_ERR_PLUGIN_NOT_FOUND',
  'PLINTH_ERR_PLUGIN_REFUSED',
  'PLINTH_ERR_PLUGIN_TIMEOUT',
  'PLINTH_ERR_PLUGIN_UNSAFE_FILES',
  'PLINTH_ERR_PLUGIN_UNTRUSTED',
  'PLINTH_ERR_PLUGIN_VERSION',
  'PLINTH_ERR_PREFLIGHT_FAILED',
  'PLINTH_ERR_PREFLIGHT_TIMEOUT',
  'PLINTH_ERR_QUERY_INVALID',
  'PLINTH_ERR_QUERY_STALE',
  'PLINTH_ERR_REQUIRED_MODULE',
  'PLINTH_ERR_SAGA_INVALID',
  'PLINTH_ERR_SAGA_NEEDS_ATTENTION',
  'PLINTH_ERR_SAGA_STEP_FAILED',
  'PLINTH_ERR_SAGA_TIMEOUT',
  'PLINTH_ERR_SAGA_UNKNOWN',
  'PLINTH_ERR_SCOPE_DISPOSED',
  'PLINTH_ERR_SECRETS_SETTINGS',
  'PLINTH_ERR_SECRET_KV_VERSION',
  'PLINTH_ERR_SECRET_NOT_FOUND',
  'PLINTH_ERR_SECRET_NOT_REDACTED',
  'PLINTH_ERR_SECRET_REFERENCE',
  'PLINTH_ERR_SECRET_UNAVAILABLE',
  'PLINTH_ERR_SHUTDOWN_TIMEOUT',
  'PLINTH_ERR_START_FAILED',
  'PLINTH_ERR_START_TIMEOUT',
  'PLINTH_ERR_STATE_CONFLICT',
  'PLINTH_ERR_STATE_INVALID_KEY',
  'PLINTH_ERR_STATE_INVALID_OPTIONS',
  'PLINTH_ERR_STATE_INVALID_TTL',
  'PLINTH_ERR_STATE_NO_SCOPE',
  'PLINTH_ERR_STATE_SESSION_ENDED',
  'PLINTH_ERR_STATE_UNSERIALISABLE',
  'PLINTH_ERR_STOP_FAILED',
  'PLINTH_ERR_STOP_TIMEOUT',
  'PLINTH_ERR_TEMPLATE',
  'PLINTH_ERR_VAULT_DENIED',
  'PLINTH_ERR_VAULT_LOGIN',
  'PLINTH_ERR_VAULT_RENEWAL',
  'PLINTH_ERR_VAULT_RESPONSE',
  'PLINTH_ERR_VAULT_SEALED',
  'PLINTH_ERR_VAULT_UNREACHABLE',
  'PLINTH_ERR_WS_INVALID_HANDLER',
]

function sourceFiles(dir: string): string[] {
  if (!existsSync(dir)) return []
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) return entry.name === 'node_modules' || entry.name === 'dist' ? [] : sourceFiles(path)
    return /\.(ts|mts)$/.test(entry.name) && !entry.name.endsWith('.d.ts') ? [path] : []
  })
}

/** The error codes a file's code spells out as string literals (comments and TSDoc examples left out). */
export function codesRaisedIn(text: string): string[] {
  const codes: string[] = []
  const visit = (node: ts.Node): void => {
    if ((ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) && /^PLINTH_ERR_[A-Z0-9_]+$/.test(node.text)) codes.push(node.text)
    ts.forEachChild(node, visit)
  }
  visit(ts.createSourceFile('file.ts', text, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS))
  return codes
}

// The sources of every package and app, catalogues left out: where codes are raised.
const raised = new Map<string, string[]>()
for (const top of ['packages', 'apps']) {
  for (const name of readdirSync(join(root, top))) {
    for (const file of sourceFiles(join(root, top, name, 'src'))) {
      if (file.endsWith('/src/errors.ts')) continue
      for (const code of codesRaisedIn(readFileSync(file, 'utf8'))) raised.set(code, [...(raised.get(code) ?? []), relative(root, file)])
    }
  }
}

let catalogues: Array<{ file: string; catalogue: ErrorCatalogue }> = []
const allCodes = () => catalogues.flatMap(({ catalogue }) => Object.keys(catalogue.entries))

beforeAll(async () => {
  catalogues = await loadCatalogues()
})

describe('the error catalogues of every package', () => {
  it('are one per package, found at packages/<name>/src/errors.ts, named after their package', () => {
    expect(catalogues.length).toBeGreaterThan(0)
    for (const { file, catalogue } of catalogues) {
      const folder = relative(join(root, 'packages'), file).split('/')[0]!
      const manifest = JSON.parse(readFileSync(join(root, 'packages', folder, 'package.json'), 'utf8')) as { name: string }
      expect(catalogue.package, `${relative(root, file)} declares its catalogue for ${catalogue.package}`).toBe(manifest.name)
    }
    const packages = catalogues.map(({ catalogue }) => catalogue.package)
    expect(new Set(packages).size, `a package exports two catalogues: ${packages.join(', ')}`).toBe(packages.length)
  })

  it('keep every code of the pinned list, and no code appears without being added to it', () => {
    expect([...allCodes()].sort()).toEqual(PINNED_CODES)
  })

  it('never give one code to two packages', () => {
    const owners = new Map<string, string[]>()
    for (const { catalogue } of catalogues) for (const code of Object.keys(catalogue.entries)) owners.set(code, [...(owners.get(code) ?? []), catalogue.package])
    const shared = [...owners].filter(([, packages]) => packages.length > 1).map(([code, packages]) => `${code}: ${packages.join(', ')}`)
    expect(shared).toEqual([])
  })

  it('hold only codes that some source raises', () => {
    const unused = allCodes().filter((code) => !raised.has(code))
    expect(unused, 'codes no source raises (remove them on purpose, or raise them)').toEqual([])
  })

  it('hold every code a source raises', () => {
    const known = new Set(allCodes())
    const unknown = [...raised].filter(([code]) => !known.has(code)).map(([code, files]) => `${code} in ${files.join(', ')}`)
    expect(unknown, 'codes raised without a catalogue entry (add them to the package\'s src/errors.ts)').toEqual([])
  })

  it('give each code a title, a hint that says what to do, and an HTTP error status or none', () => {
    for (const { catalogue } of catalogues) {
      for (const [code, entry] of Object.entries(catalogue.entries)) {
        expect(code).toMatch(/^PLINTH_ERR_[A-Z0-9_]+$/)
        expect(entry.title.length, `${code}'s title`).toBeGreaterThan(5)
        expect(entry.hint.length, `${code}'s hint`).toBeGreaterThan(20)
        if (entry.status !== undefined) expect(entry.status, `${code}'s status`).toBeGreaterThanOrEqual(400)
      }
    }
  })

  it('are documented in docs/errors.md, exactly as npm run docs:errors writes it', async () => {
    const doc = readFileSync(join(root, 'docs/errors.md'), 'utf8')
    const undocumented = allCodes().filter((code) => !doc.includes(`### ${code}\n`))
    expect(undocumented).toEqual([])
    expect(doc).toBe(await renderErrorsDoc())
  })

  it('reads codes from string literals, not from comments', () => {
    expect(codesRaisedIn("// PLINTH_ERR_IN_COMMENT\n/** throw errors.create('PLINTH_ERR_IN_DOC') */\nthrow new PlinthError('PLINTH_ERR_RAISED', 'x')")).toEqual(['PLINTH_ERR_RAISED'])
  })
})
