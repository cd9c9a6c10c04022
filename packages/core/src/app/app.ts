import { loadConfig, type LoadedConfig } from '../config/config.js'
import { scrub } from '../config/secrets.js'
import { Container, type ContainerOptions } from '../container/container.js'
import { PlinthError } from '../errors.js'
import { EventStream, type AppState, type LifecycleEvent, type Phase } from '../lifecycle/events.js'
import type { Node } from '../container/graph.js'
import { Logger as LoggerToken } from './kernel-tokens.js'
import { Lifecycle, type ComponentStatus, type StopReport } from '../lifecycle/lifecycle.js'
import type { Logger } from '../logging/logger.js'
import { componentLogger, createLogger, type LoggingOptions } from '../logging/logging.js'
import { logEvents } from '../logging/log-events.js'
import { appLoggerOptions, isLogger } from './app-logging.js'
import { bootstrapFailed, type BootstrapReport } from '../bootstrap/bootstrap.js'
import { bootstrapModules, resolveDataDir } from '../bootstrap/phase.js'
import type { ModuleResolution } from '../modules/resolution.js'
import type { Module } from '../modules/module.js'
import type { ModuleDiscoveryOptions } from '../modules/discovery.js'
import { ModuleRegistry, type ModuleStatus } from '../modules/registry.js'
import { provide, type AnyProvider } from '../container/provider.js'
import { drainAndStop, shutdownSettings } from '../lifecycle/shutdown.js'
import { observabilityProviders } from '../health/observability.js'
import { token } from '../container/token.js'
import type { PreflightOptions } from '../preflight/preflight.js'
import { appPreflight, preflightConfig } from './app-preflight.js'
import { checkGraph, checkPorts, initModules, runPhase, validatedContainer } from './phases.js'
import { preflightAtStart } from '../preflight/at-start.js'
import type { PreflightReport } from '../preflight/runner.js'

export type { AppState }
import type { AppOptions, CheckReport, Endpoint, StartOptions, StartResult } from './options.js'
export type { AppOptions, CheckProviders, CheckReport, Endpoint, KernelTokenName, MissingProviders, ShutdownOptions, StartOptions, StartResult } from './options.js'

const now = () => performance.now()

/**
 * An application: configuration, modules and components, started in dependency order and stopped
 * in reverse. Creating one has no side effects; nothing runs until `start()`.
 *
 * @example
 * const app = createApp({ name: 'orders', components: [users] })
 * await app.start()
 * console.log(app.state, app.endpoints()) // 'ready', [{ name: 'http', url: 'http://127.0.0.1:8000' }]
 * await app.stop('done')
 */
export class App {
  readonly name: string
  readonly version: string
  readonly events = new EventStream<LifecycleEvent>()
  readonly #options: AppOptions<readonly AnyProvider[], readonly Module[]>
  #state: AppState = 'created'
  #container: Container | undefined
  #lifecycle: Lifecycle | undefined
  #config: LoadedConfig<unknown> | undefined
  #logger: Logger | undefined
  #startedAt = 0
  #stopping: Promise<StopReport> | undefined
  readonly #timeline: LifecycleEvent[] = []
  readonly #modules: ModuleRegistry
  readonly #endpoints = new Map<string, string>()
  #env: NodeJS.ProcessEnv = process.env
  /** The start in progress, so that stop() can wait for an interrupted boot to roll back. */
  #starting: Promise<unknown> | undefined
  #interrupted = false
  /** Unsubscribes the lifecycle log writer, so that a restarted app does not log every line twice. */
  #unlog: (() => void) | undefined
  /** Set by useLogging: what the command line changes in the logging options. */
  #logging: LoggingOptions | undefined
  /** Whether the logger writes pretty lines to a terminal, where the ready line is a banner. */
  #pretty = false

  constructor(options: AppOptions<readonly AnyProvider[], readonly Module[]>, site?: AnyProvider['site']) {
    this.name = options.name
    this.version = options.version ?? '0.0.0'
    this.#options = options
    const discover = options.discoverModules
    this.#modules = new ModuleRegistry(options.modules ?? [], typeof discover === 'string' || discover instanceof URL ? { dir: discover } : discover, this.events, site)
    this.events.subscribe((event) => this.#timeline.push(event))
  }

  /** Where the app discovers modules, if it does (`plinth build` compiles them into the bundle). */
  get moduleDiscovery(): ModuleDiscoveryOptions | undefined {
    return this.#modules.discovery
  }

  get state(): AppState {
    return this.#state
  }

  /** Ready to take traffic: booted, not shutting down. */
  get ready(): boolean {
    return this.#state === 'ready' || this.#state === 'degraded'
  }

  /** The container, once start() has validated the graph. */
  get container(): Container {
    if (!this.#container) throw new PlinthError('PLINTH_ERR_INVALID_STATE', `app "${this.name}" has no container yet; call start() first`)
    return this.#container
  }

  /** The loaded configuration, once start() or check() has loaded it. */
  get config(): LoadedConfig<unknown> | undefined {
    return this.#config
  }

  /**
   * The environment start(), check() or bootstrap() was given (process.env unless a test passed
   * its own): where components read settings that are not in the configuration (DATABASE_URL).
   */
  get env(): NodeJS.ProcessEnv {
    return this.#env
  }

  /** development, staging or production: the configuration's, else APP_ENV of `env`, else development. */
  get appEnv(): string {
    return this.#config?.appEnv ?? this.#env.APP_ENV ?? 'development'
  }

  get logger(): Logger {
    return (this.#logger ??= this.#createLogger(undefined))
  }

  /** Every booted component and its state. */
  components(): ComponentStatus[] {
    return this.#lifecycle?.components() ?? []
  }

  /** Every module and its state (excluded and degraded with the reason), from start(), check() or bootstrap(). */
  modules(): ModuleStatus[] {
    return this.#modules.statuses()
  }

  /** Every lifecycle event so far: the boot and shutdown timeline. */
  timeline(): readonly LifecycleEvent[] {
    return this.#timeline
  }

  /**
   * Records an address a server listens on (from its start hook, the port it really got); the ready line lists every one.
   *
   * @example
   * start: async (server, { log }) => app.announce('http', await server.listen({ port: 8000 }))
   */
  announce(name: string, url: string): void {
    this.#endpoints.set(name, url)
  }

  /** Every announced address, in the order announced. */
  endpoints(): Endpoint[] {
    return [...this.#endpoints].map(([name, url]) => ({ name, url }))
  }

  /** Milliseconds since start() was called. */
  uptime(): number {
    return this.#startedAt === 0 ? 0 : now() - this.#startedAt
  }

  /** The app's providers, then its modules' (once registered: discovered in, excluded out). */
  providers(): AnyProvider[] {
    return [...(this.#options.components ?? []), ...this.#modules.providers()]
  }

  /** The kernel's own providers: the config value, the app, each component's logger. */
  #kernelProviders(): AnyProvider[] {
    const providers: AnyProvider[] = [provide(Application, { value: this }), ...observabilityProviders(Application, this.#options)]
    if (this.#options.config) providers.push(provide(this.#options.config, { create: () => this.#config?.value }))
    return providers
  }

  /** Each component's Logger: the app's, named after the component that asks for it. */
  #contextual(): Map<symbol, (requester: Node) => unknown> {
    return new Map([[LoggerToken.id, (requester: Node) => (requester ? componentLogger(this.logger, requester.name, requester.reg.module) : this.logger)]])
  }

  #containerOptions(options: Pick<StartOptions, 'overrides'>): ContainerOptions {
    return { overrides: options.overrides ?? [], contextual: this.#contextual(), listedAt: (module) => this.#modules.listedAt(module) }
  }

  /**
   * Changes how the app logs from now on (the logger is made again at the next use): the `plinth`
   * commands other than start send their logs to standard error at `warn`, so that what they
   * print for people stays readable. A level given here is a default: LOG_LEVEL wins over it.
   *
   * @example
   * app.useLogging({ stderr: true, level: 'warn' })
   * await app.check()
   */
  useLogging(options: LoggingOptions): void {
    this.#logging = options
    this.#logger = undefined
  }

  #createLogger(config: LoadedConfig<unknown> | undefined): Logger {
    if (isLogger(this.#options.logging)) return this.#options.logging
    const options = appLoggerOptions(this.name, this.#options.logging, this.#logging, this.#env, config)
    this.#pretty = Boolean(options.pretty) && !options.destination && !options.file
    return createLogger(options)
  }

  #phase<T>(phase: Phase, run: () => Promise<T> | T): Promise<T> {
    return runPhase(this.events, phase, run)
  }

  /**
   * Runs the configuration, module registration and bootstrap phases only: prepares what the
   * app and its modules need, or with `dryRun` reports what it would do and writes nothing.
   * Rejects with PLINTH_ERR_BOOTSTRAP_FAILED when a handler fails (a dry run reports failures
   * in the report instead). `plinth bootstrap` runs it.
   *
   * @example
   * const plan = await app.bootstrap({ dryRun: true })
   * for (const a of plan.actions) console.log(a.action, a.subject, a.target)
   */
  async bootstrap(options: StartOptions & { dryRun?: boolean } = {}): Promise<BootstrapReport | undefined> {
    this.#env = options.env ?? process.env
    const definition = this.#options.config
    if (definition) this.#config = await this.#phase('config', () => loadConfig(definition, options))
    await this.#phase('modules', () => this.#register(options.cwd ?? process.cwd()))
    return this.#prepare(options, options.dryRun ?? false)
  }

  /**
   * Phase 1 alone: reads, checks and orders the modules (listed and discovered), reporting
   * each registration and exclusion; afterwards providers() and inspect() include them.
   *
   * @example
   * for (const m of await app.registerModules()) if (m.state === 'excluded') console.warn(m.id, m.reason)
   */
  async registerModules(options: Pick<StartOptions, 'cwd'> = {}): Promise<ModuleStatus[]> {
    await this.#register(options.cwd ?? process.cwd())
    return this.#modules.statuses()
  }

  /** Phase 1, except on a running app, which keeps the modules (and their states) it started with. */
  #register(cwd: string): Promise<ModuleResolution> {
    const running = this.#state === 'ready' || this.#state === 'degraded' || this.#state === 'stopping'
    return running ? Promise.resolve(this.#modules.resolution()) : this.#modules.register(cwd)
  }

  /** The bootstrap phase; undefined when it is disabled. */
  async #prepare(options: StartOptions, dryRun: boolean): Promise<BootstrapReport | undefined> {
    const settings = this.#options.bootstrap ?? {}
    if (settings.enabled === false) return undefined
    const env = this.#env
    return this.#phase('bootstrap', async () => {
      const report = await bootstrapModules({
        options: settings,
        modules: this.#modules.registered(),
        appName: this.name,
        appEnv: this.#config?.appEnv ?? env.APP_ENV ?? 'development',
        config: this.#config?.value,
        cwd: options.cwd ?? process.cwd(),
        env,
        dryRun,
        log: this.logger,
        events: this.events,
      })
      if (!dryRun && report.failures.length > 0) throw bootstrapFailed(report)
      return report
    })
  }

  /** The validated graph and the components start would boot, without building anything. */
  inspect(options: Pick<StartOptions, 'overrides'> = {}): { graph: import('../container/graph.js').Graph; bootSet: Node[] } {
    const container = new Container([...this.providers(), ...this.#kernelProviders()], this.#containerOptions(options))
    return { graph: container.graph, bootSet: new Lifecycle(container, this.events, () => this.logger).bootSet() }
  }

  /**
   * Runs the production preflight: every check the app's packages and modules contribute
   * (database, cache, secrets, security, ...) and core's own (environment, monitoring, system),
   * concurrently, each under its deadline. Components are built in a container of the run's own
   * and never started; on a running app its live instances are left alone. `plinth validate`
   * prints this report.
   *
   * @example
   * const report = await app.preflight({ appEnv: 'production', only: ['database', 'security'] })
   * for (const r of report.results) if (r.status !== 'pass') console.log(r.category, r.name, r.found, r.fix)
   */
  async preflight(options: PreflightOptions = {}): Promise<PreflightReport> {
    const running = this.#state !== 'created' && this.#state !== 'stopped' && this.#state !== 'failed'
    const base = options.env ?? (running ? this.#env : process.env)
    const env = options.appEnv ? { ...base, APP_ENV: options.appEnv } : base
    const cwd = options.cwd ?? process.cwd()
    const { config, problem: configProblem } = running ? { config: this.#config } : await preflightConfig(this.#options.config, { ...options, env })
    if (!running) {
      // Components built for the run read the environment and configuration through the app.
      this.#env = env
      this.#config = config
      // What components log while built for the run goes to standard error: standard output
      // carries the report (one JSON document with --json).
      if (!isLogger(this.#options.logging) && !this.#logging) this.useLogging({ stderr: true })
      await this.#register(cwd)
    }
    return this.#preflight(config, configProblem, env, cwd, options)
  }

  #preflight(config: LoadedConfig<unknown> | undefined, configProblem: string | undefined, env: NodeJS.ProcessEnv, cwd: string, options: PreflightOptions): Promise<PreflightReport> {
    const subject = { name: this.name, options: this.#options, providers: this.providers(), kernelProviders: this.#kernelProviders(), contextual: this.#contextual(), modules: this.#modules.registered() }
    return appPreflight(subject, config, configProblem, env, cwd, options)
  }

  /**
   * Loads configuration and validates the graph; starts nothing and writes nothing. A module
   * left out (it could not be read, or needs one that was) is a problem too, with its reason.
   */
  async check(options: StartOptions = {}): Promise<CheckReport> {
    this.#env = options.env ?? process.env
    const config = this.#options.config ? await loadConfig(this.#options.config, options) : undefined
    this.#config = config
    await this.#register(options.cwd ?? process.cwd())
    const kernel = new Set<AnyProvider>(this.#kernelProviders())
    const providers = [...this.providers(), ...kernel]
    const { problems, warnings } = checkGraph(providers, kernel, this.#containerOptions(options), this.#modules, (container) => new Lifecycle(container, this.events, () => this.logger).bootSet())
    return { config, problems, warnings, components: providers.length }
  }

  /**
   * Loads configuration, validates the graph, then builds and starts every component an eager
   * component needs, in dependency order and concurrently where independent.
   *
   * @example
   * const app = createApp({ name: 'orders', config: AppConfig, modules: [orders] })
   * await app.start()
   * process.on('SIGTERM', () => void app.stop('SIGTERM'))
   */
  start(options: StartOptions = {}): Promise<StartResult> {
    if (this.#state !== 'created' && this.#state !== 'stopped' && this.#state !== 'failed') {
      return Promise.reject(new PlinthError('PLINTH_ERR_INVALID_STATE', `app "${this.name}" is ${this.#state}; start() needs it created or stopped`))
    }
    this.#interrupted = false
    const starting = this.#start(options)
    this.#starting = starting
    return starting
  }

  #throwIfInterrupted(): void {
    if (this.#interrupted) throw new PlinthError('PLINTH_ERR_BOOT_FAILED', `start-up of "${this.name}" was interrupted by a shutdown`)
  }

  async #start(options: StartOptions): Promise<StartResult> {
    this.#state = 'starting'
    this.#startedAt = now()
    this.#env = options.env ?? process.env
    this.#endpoints.clear()
    try {
      if (this.#options.config) {
        const definition = this.#options.config
        this.#config = await this.#phase('config', () => loadConfig(definition, options))
      }
      this.#throwIfInterrupted()
      this.#logger = this.#createLogger(this.#config)
      this.#unlog?.()
      this.#unlog = logEvents(this.events, this.#logger, { banner: this.#pretty })
      const cwd = options.cwd ?? process.cwd()
      // Modules register before the bootstrap phase, because it prepares what they declare; registering
      // only reads declarations, so nothing of theirs is built or run before the bootstrap is done.
      await this.#phase('modules', () => this.#modules.register(cwd))
      this.#throwIfInterrupted()
      const providers = [...this.providers(), ...this.#kernelProviders()]
      const container = await this.#phase('validate', () => validatedContainer(providers, this.#containerOptions(options), this.#modules))
      // The graph is valid before the bootstrap phase writes anything: a broken app leaves the disk as it was, as check does.
      await this.#prepare(options, false)
      this.#throwIfInterrupted()
      const atStart = this.#options.preflight?.atStart ?? 'off' // the start-up preflight, off by default
      if (atStart !== 'off') await preflightAtStart(atStart, this.#preflight(this.#config, undefined, this.#env, cwd, {}), componentLogger(this.logger, 'preflight'), this.name)
      this.#throwIfInterrupted()
      this.#container = container
      this.#lifecycle = new Lifecycle(container, this.events, (name, module) => componentLogger(this.logger, name, module), this.#options.lifecycle, () => this.#modules.listedAt(undefined))
      const lifecycle = this.#lifecycle
      const dataDir = resolveDataDir(this.#options.bootstrap ?? {}, this.#config?.value, this.#env, cwd)
      const result = await this.#phase('start', async () => {
        await checkPorts(this, lifecycle.bootSet()) // every port in use is named at once, before anything starts
        const started = await lifecycle.start()
        await initModules(this.#modules, lifecycle, container, { dataDir, logger: this.logger, events: this.events })
        if (this.#interrupted) {
          await lifecycle.stop(Number.POSITIVE_INFINITY)
          this.#throwIfInterrupted()
        }
        return started
      })
      const duration = now() - this.#startedAt
      const modulesDegraded = this.#modules.statuses().some((m) => m.state === 'degraded' || m.state === 'excluded')
      this.#state = result.degraded.length > 0 || modulesDegraded ? 'degraded' : 'ready'
      const excludedModules = this.#modules.resolution().excluded.map((x) => ({ id: x.id, reason: x.reason }))
      this.events.emit({ type: 'ready', duration, criticalPath: result.criticalPath, degraded: result.degraded, endpoints: this.endpoints(), excludedModules, at: now() })
      return { ...result, duration }
    } catch (error) {
      this.#state = 'failed'
      throw error
    }
  }

  /**
   * Stops the app: readiness false at once, the drain delay, then every component in reverse
   * dependency order under the shutdown deadline. Calling it again returns the same promise.
   */
  stop(reason = 'stop() called'): Promise<StopReport> {
    this.#stopping ??= this.#stop(reason)
    return this.#stopping
  }

  async #stop(reason: string): Promise<StopReport> {
    const began = now()
    if (this.#state === 'starting') {
      // A shutdown during boot interrupts it: what had started is stopped by the rollback.
      this.#lifecycle?.abort(`${reason} during start-up`)
      this.#interrupted = true
      await this.#starting?.catch(() => undefined)
    }
    const wasRunning = this.ready
    this.#state = 'stopping'
    const settings = shutdownSettings(this.#options.shutdown, this.appEnv)
    this.events.emit({ type: 'shutdown-requested', reason, drain: wasRunning ? Math.min(settings.drainDelay, settings.timeout) : 0, at: began })
    try {
      return await drainAndStop({ events: this.events, lifecycle: this.#lifecycle, container: this.#container }, settings, {
        began,
        serving: wasRunning,
      })
    } finally {
      this.#state = 'stopped'
      this.#stopping = undefined
    }
  }

  /**
   * `text` with every secret value of the configuration masked (see `LoadedConfig.secretValues`):
   * for whatever the app shows outside its logs, such as health details and error responses.
   *
   * @example
   * reply.send(app.redact(JSON.stringify(health.report())))
   */
  redact(text: string): string {
    const secrets = this.#config?.secretValues
    return secrets === undefined || secrets.length === 0 ? text : scrub(text, secrets)
  }

  /**
   * For the second-signal report: components with something to stop that have not stopped, once
   * each, those stopping first, then those waiting their turn (during the drain, everything).
   */
  stillRunning(): string[] {
    const live = this.components().filter((c) => c.node.reg.stop !== undefined && (c.state === 'stopping' || c.state === 'started' || c.state === 'degraded'))
    const order = (c: ComponentStatus) => (c.state === 'stopping' ? 0 : 1)
    return [...new Set(live.sort((a, b) => order(a) - order(b)).map((c) => c.name))]
  }
}

/** The running application itself: its state, events and configuration (for servers and probes). */
export const Application = token('app').of<App>()
