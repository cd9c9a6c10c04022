/**
 * The databases handler: a registration point. Core knows no database; a database package
 * registers a driver that says whether a declared database (with its tables) exists and creates
 * it. A module that declares a database when no driver can create it fails the bootstrap with
 * an error saying which module, which database and what to install.
 */
import type { BootstrapContext, BootstrapHandler } from './bootstrap.js'
import type { DatabaseRequirement } from './requirements.js'
import { owner, plannedHandler, type Step } from './steps.js'
import { PlinthError, describe, errorFields } from '../errors.js'
import type { Logger } from '../logging/logger.js'

export interface DatabaseBootstrapContext {
  readonly dataDir: string
  /** The module that declared the database; undefined for the app's own. */
  readonly module: string | undefined
  /** The declaring module's folder (for migrations shipped beside it). */
  readonly baseDir: string
  readonly config: unknown
  /** The environment start() was given; read DATABASE_URL and the like from here, not process.env. */
  readonly env: NodeJS.ProcessEnv
  readonly signal: AbortSignal
  readonly log: Logger
}

/**
 * Creates the databases modules declare. `@plinth/db` provides the SQLite and PostgreSQL ones.
 *
 * @example
 * registerDatabaseDriver({
 *   name: 'sqlite',
 *   exists: (db, ctx) => existsSync(join(ctx.dataDir, `${db.name}.sqlite`)),
 *   create: async (db, ctx) => { await createWithTables(join(ctx.dataDir, `${db.name}.sqlite`), db.options); return `${db.name}.sqlite` },
 * })
 */
export interface DatabaseBootstrapDriver {
  /** Matched against a requirement's `driver`. */
  readonly name: string
  /** Whether the database and its tables exist; reads only (a dry run calls it). */
  exists(requirement: DatabaseRequirement, context: DatabaseBootstrapContext): boolean | Promise<boolean>
  /** Creates the database and its tables; may return what it created, for the report. */
  create(requirement: DatabaseRequirement, context: DatabaseBootstrapContext): void | string | Promise<void | string>
}

// Process-wide, like commands: importing a database package is how an app gets its driver.
const registered = new Map<string, DatabaseBootstrapDriver>()

/**
 * Registers a database bootstrap driver for every app in the process; an app's own
 * `bootstrap.databaseDrivers` take precedence over it. Returns a function that removes it.
 *
 * @example
 * const unregister = registerDatabaseDriver(sqliteBootstrap)
 */
export function registerDatabaseDriver(driver: DatabaseBootstrapDriver): () => void {
  if (typeof driver?.name !== 'string' || typeof driver.exists !== 'function' || typeof driver.create !== 'function') {
    throw new PlinthError('PLINTH_ERR_INVALID_BOOTSTRAP', `a database bootstrap driver needs a name, exists() and create(); got ${String(driver?.name)}`)
  }
  registered.set(driver.name, driver)
  return () => {
    if (registered.get(driver.name) === driver) registered.delete(driver.name)
  }
}

/**
 * The built-in databases handler (priority 30). `drivers` come before the registered ones.
 *
 * @example
 * createApp({ name: 'svc', bootstrap: { databaseDrivers: [sqliteBootstrap] } })
 */
export function databasesHandler(drivers: readonly DatabaseBootstrapDriver[] = []): BootstrapHandler {
  return plannedHandler('databases', 30, async (context: BootstrapContext) => {
    const available = new Map([...registered, ...drivers.map((d) => [d.name, d] as const)])
    const steps: Step[] = []
    const missing: string[] = []
    for (const set of context.requirements) {
      for (const db of set.requirements.databases) {
        const driver = db.driver !== undefined ? available.get(db.driver) : available.size === 1 ? [...available.values()][0] : undefined
        if (!driver) {
          const which = db.driver !== undefined ? `driver "${db.driver}"` : available.size > 1 ? `no driver named, and ${available.size} are registered` : 'no driver named'
          missing.push(`${owner(set)} declares database "${db.name}" (${which})`)
          continue
        }
        const dbContext: DatabaseBootstrapContext = { dataDir: context.dataDir, module: set.owner, baseDir: set.baseDir, config: context.config, env: context.env, signal: context.signal, log: context.log }
        const base = { subject: 'database', target: db.name, module: set.owner }
        let exists: boolean
        try {
          exists = await driver.exists(db, dbContext)
        } catch (error) {
          if (!db.optional) throw error
          // An optional database's server may come later: the app starts without it, and the next start creates it.
          context.log.warn({ database: db.name, module: set.owner, ...errorFields(error) }, `database "${db.name}" cannot be checked now, so it is not created: ${describe(error)}; the app starts without it`)
          steps.push({ ...base, action: 'skip', detail: `server not reachable now; created at a start that reaches it (${driver.name})` })
          continue
        }
        if (exists) steps.push({ ...base, action: 'skip', detail: `exists (${driver.name})` })
        else steps.push({ ...base, action: 'create', detail: `with ${driver.name}`, apply: async () => (await driver.create(db, dbContext)) ?? `with ${driver.name}` })
      }
    }
    if (missing.length > 0) {
      const names = [...available.keys()]
      throw new PlinthError(
        'PLINTH_ERR_NO_DATABASE_DRIVER',
        `no database bootstrap driver can create ${missing.length === 1 ? 'this database' : 'these databases'} (registered drivers: ${names.length > 0 ? names.join(', ') : 'none'}):\n${missing.map((m) => `  - ${m}`).join('\n')}`,
        { details: { missing, registered: names } },
      )
    }
    return steps
  })
}
