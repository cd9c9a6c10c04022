/**
 * The plugin host: discovers plugins, resolves their dependencies, loads and activates them in
 * order (each step under a deadline), serves calls into them, restarts a sandboxed plugin whose
 * process died (up to a limit, then disables it), and enables, disables and reloads plugins at
 * run time. A plugin that fails is disabled and reported; the host and the app keep running.
 */
import { mkdirSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { join } from 'node:path'
import { EventStream, createLogger, type Logger, type PlinthError } from '@plinth/core'
import { CapabilityGate } from './capability-gate.js'
import { discoverPlugins, readCandidate } from './discovery.js'
import { pluginErrors } from './errors.js'
import type { PluginEvent } from './events.js'
import { defaultLimits, plinthVersion, type HostLimits, type PluginHostOptions, type PluginState, type PluginStatus } from './host-options.js'
import { InProcessPlugin } from './in-process.js'
import { availableIsolation, isolationProven, launchIsolation, probeIsolation, type Isolation } from './isolation.js'
import { isSandboxed } from './permissions.js'
import { resolvePlugins, type ResolvedPlugin } from './resolution.js'
import type { PluginRunner } from './runner.js'
import { SandboxProcess, type SandboxLimits } from './sandbox-process.js'
import { memoryServices, type HostServices } from './services.js'

interface Entry {
  plugin: ResolvedPlugin
  state: PluginState
  reason?: string
  runner?: PluginRunner
  gate?: CapabilityGate
  handlers: string[]
  calls: number
  errors: number
  refusals: number
  restarts: number
  restartTimes: number[]
  callTime: number
  messages: number
}

/**
 * Runs an app's plugins.
 *
 * @example
 * const host = new PluginHost({ dirs: ['./plugins'], dataDir: './data/plugins', trusted: ['unit-converter'] })
 * await host.start()
 * const clean = await host.call('word-filter', 'filter', { text: 'hello' })
 * await host.stop()
 */
export class PluginHost {
  /** Every plugin event: loaded, activated, crashed, refused, ... */
  readonly events = new EventStream<PluginEvent>()
  readonly services: HostServices
  readonly #options: PluginHostOptions
  readonly #limits: HostLimits
  readonly #log: Logger
  readonly #entries = new Map<string, Entry>()
  #order: string[] = []
  #isolation: Isolation | undefined
  #stopping = false

  constructor(options: PluginHostOptions) {
    this.#options = options
    this.#limits = { ...defaultLimits, ...options.limits }
    this.#log = options.log ?? createLogger({ level: 'silent' })
    this.services = options.services ?? memoryServices()
  }

  /** How sandboxed plugins are isolated on this machine (probed once). */
  get isolation(): Isolation {
    return (this.#isolation ??= this.#options.isolation ?? availableIsolation(this.#user()))
  }

  /** Discovers, resolves, loads and activates every plugin; failures are reported, never thrown. */
  async start(): Promise<void> {
    const candidates = await discoverPlugins(this.#options)
    const { ordered, excluded } = resolvePlugins(candidates, { plinthVersion: this.#options.plinthVersion ?? plinthVersion(), trusted: this.#options.trusted ?? [] })
    // The first sandboxed plugin's launch is the isolation probe (see launchIsolation). Without
    // one, a probe process answers for /health, beside the rest of the start, not blocking it.
    if (this.#options.isolation === undefined && !ordered.some((p) => isSandboxed(p.manifest.level))) {
      void probeIsolation(this.#user()).then((isolation) => (this.#isolation ??= isolation))
    }
    for (const x of excluded) {
      this.#entries.set(x.id, { ...blank(), plugin: { folder: '', file: x.file, manifest: { id: x.id, version: '', level: 'read-only' } as never }, state: 'excluded', reason: x.reason })
      this.#log.warn({ plugin: x.id }, `plugin excluded: ${x.reason}`)
      this.events.emit({ type: 'plugin-excluded', id: x.id, reason: x.reason })
    }
    const disabled = new Set(this.#options.disabled ?? [])
    for (const plugin of ordered) {
      this.#order.push(plugin.manifest.id)
      this.#entries.set(plugin.manifest.id, { ...blank(), plugin, state: 'disabled', reason: 'disabled in the catalogue' })
    }
    // Plugins start in waves: each wave holds those whose dependencies are all in earlier waves,
    // started concurrently, so start-up costs the longest chain, not the sum.
    const wave = new Map<string, number>()
    const waves: Entry[][] = []
    for (const plugin of ordered) {
      const id = plugin.manifest.id
      const level = Math.max(-1, ...Object.keys(plugin.manifest.dependencies).map((d) => wave.get(d) ?? -1)) + 1
      wave.set(id, level)
      ;(waves[level] ??= []).push(this.#entries.get(id)!)
    }
    // A few processes at a time per core: starting dozens of node processes at once only slows them all.
    const parallel = Math.max(2, availableParallelism() * 2)
    for (const entries of waves) {
      const queue = entries.filter((e) => !disabled.has(e.plugin.manifest.id) && !this.#missingDependency(e))
      const worker = async () => {
        for (let next = queue.shift(); next; next = queue.shift()) await this.#bringUp(next)
      }
      await Promise.all(Array.from({ length: parallel }, worker))
    }
  }

  /**
   * Calls a handler of an active plugin; a sandboxed plugin that passes the deadline is killed
   * and restarted, and this call rejects with PLINTH_ERR_PLUGIN_TIMEOUT.
   */
  async call(id: string, handler: string, input?: unknown): Promise<unknown> {
    const entry = this.#entries.get(id)
    if (!entry) throw pluginErrors.create('PLINTH_ERR_PLUGIN_NOT_FOUND', `no plugin "${id}"; installed: ${[...this.#entries.keys()].join(', ') || 'none'}`)
    if (entry.state !== 'active' || !entry.runner) throw pluginErrors.create('PLINTH_ERR_PLUGIN_NOT_ACTIVE', `plugin "${id}" is ${entry.state}${entry.reason ? `: ${entry.reason}` : ''}`)
    if (!entry.handlers.includes(handler)) throw pluginErrors.create('PLINTH_ERR_PLUGIN_NOT_FOUND', `plugin "${id}" has no handler "${handler}"; it has ${entry.handlers.join(', ') || 'none'}`)
    const started = performance.now()
    entry.calls++
    try {
      return await entry.runner.call(handler, input ?? null, entry.plugin.manifest.limits.callTimeout ?? this.#limits.callTimeout)
    } catch (error) {
      entry.errors++
      throw error
    } finally {
      entry.callTime += performance.now() - started
    }
  }

  /** Deactivates and unloads a plugin, and every active plugin that depends on it. */
  async disable(id: string, reason = 'disabled by an operator'): Promise<void> {
    const entry = this.#require(id)
    for (const dependant of this.#dependants(id)) await this.disable(dependant, `its dependency "${id}" was disabled`)
    if (entry.state === 'active' || entry.state === 'restarting' || entry.state === 'loading') await this.#takeDown(entry)
    entry.state = 'disabled'
    entry.reason = reason
    this.events.emit({ type: 'plugin-disabled', id, reason })
  }

  /** Loads and activates a disabled or failed plugin again; its restart count starts over. */
  async enable(id: string): Promise<void> {
    const entry = this.#require(id)
    if (entry.state === 'excluded') throw pluginErrors.create('PLINTH_ERR_PLUGIN_NOT_ACTIVE', `plugin "${id}" is excluded: ${entry.reason ?? ''}; fix it and reload`)
    if (entry.state === 'active') return
    if (this.#missingDependency(entry)) throw pluginErrors.create('PLINTH_ERR_PLUGIN_DEPENDENCY', `plugin "${id}" cannot be enabled: ${entry.reason ?? ''}`)
    entry.restartTimes = []
    this.events.emit({ type: 'plugin-enabled', id })
    await this.#bringUp(entry)
    if ((entry.state as PluginState) !== 'active') throw pluginErrors.create('PLINTH_ERR_PLUGIN_LIFECYCLE', `plugin "${id}" could not be enabled: ${entry.reason ?? ''}`)
  }

  /** Reads the plugin's folder again (manifest and code) and restarts it; the app keeps running. */
  async reload(id: string): Promise<void> {
    const entry = this.#require(id)
    if (!entry.plugin.folder) throw pluginErrors.create('PLINTH_ERR_PLUGIN_NOT_ACTIVE', `plugin "${id}" was excluded before it had a folder: ${entry.reason ?? ''}`)
    if (entry.state === 'active' || entry.state === 'restarting') await this.#takeDown(entry)
    const candidate = await readCandidate(entry.plugin.folder, 'folder')
    if (candidate.error || !candidate.manifest) {
      entry.state = 'failed'
      entry.reason = candidate.error?.message ?? 'no manifest'
      throw candidate.error ?? pluginErrors.create('PLINTH_ERR_PLUGIN_MANIFEST', entry.reason)
    }
    const { ordered, excluded } = resolvePlugins([candidate, ...this.#others(id)], { plinthVersion: this.#options.plinthVersion ?? plinthVersion(), trusted: this.#options.trusted ?? [] })
    const problem = excluded.find((x) => x.id === id)
    if (problem) {
      entry.state = 'failed'
      entry.reason = problem.reason
      throw problem.error
    }
    entry.plugin = ordered.find((p) => p.manifest.id === id)!
    entry.restartTimes = []
    await this.enable(id)
  }

  /** Every plugin's state and metrics, in load order then excluded ones. */
  status(): PluginStatus[] {
    return [...this.#entries.values()].map((e) => {
      const memory = e.state === 'active' ? e.runner?.memoryBytes() : undefined
      return {
        id: e.plugin.manifest.id,
        version: e.plugin.manifest.version,
        level: e.plugin.manifest.level,
        state: e.state,
        ...(e.reason !== undefined && e.state !== 'active' ? { reason: e.reason } : {}),
        ...(e.runner ? { isolation: e.runner.isolation } : {}),
        handlers: e.handlers,
        calls: e.calls,
        errors: e.errors,
        refusals: e.refusals,
        restarts: e.restarts,
        callTime: Math.round(e.callTime * 1000) / 1000,
        messages: e.messages,
        ...(memory !== undefined ? { memory } : {}),
      }
    })
  }

  /** Deactivates and unloads every plugin, dependants first. */
  async stop(): Promise<void> {
    this.#stopping = true
    for (const id of [...this.#order].reverse()) {
      const entry = this.#entries.get(id)!
      if (entry.runner) await this.#takeDown(entry)
      entry.state = 'stopped'
    }
  }

  async #bringUp(entry: Entry): Promise<void> {
    const { manifest, folder } = entry.plugin
    const id = manifest.id
    entry.state = 'loading'
    delete entry.reason
    const dataDir = join(this.#options.dataDir, id)
    // Synchronous on purpose (one cheap syscall): an awaited mkdir completes on the event loop,
    // behind every other component's start, and held the plugin's process start back by
    // hundreds of milliseconds on a busy start.
    mkdirSync(dataDir, { recursive: true })
    const gate = new CapabilityGate(
      {
        manifest,
        services: this.services,
        dataDir,
        log: this.#log,
        onRefusal: (operation, reason) => {
          entry.refusals++
          this.events.emit({ type: 'plugin-refused', id, operation, reason })
        },
      },
      {
        topic: (subscription, topic, data) => {
          if (inProcess) inProcess.deliverTopic(subscription, topic, data)
          else if (entry.state === 'active') void entry.runner?.call('#topic', { subscription, topic, data }, this.#callTimeout(entry)).catch(() => entry.errors++)
        },
        route: (route, request) => (inProcess ? inProcess.deliverRoute(route, request) : runner.call('#route', { route, request }, this.#callTimeout(entry))),
      },
    )
    let inProcess: InProcessPlugin | undefined
    let runner: PluginRunner
    const launch = this.#options.isolation === undefined ? launchIsolation() : undefined
    if (isSandboxed(manifest.level)) {
      const limits = this.#sandboxLimits(entry)
      const user = this.#user()
      runner = new SandboxProcess({
        folder,
        manifest,
        isolation: launch?.isolation ?? this.isolation,
        ...(launch ? { setpriv: launch.setpriv } : {}),
        limits,
        ...(user ? { user } : {}),
        log: this.#log,
        onHostRequest: (op, args) => gate.handle(op, args),
        onDeath: (error) => void this.#crashed(entry, runner, error),
        onMessage: () => entry.messages++,
      })
    } else {
      inProcess = new InProcessPlugin(folder, manifest, gate, this.#log)
      runner = inProcess
    }
    entry.runner = runner
    entry.gate = gate
    const loadStarted = performance.now()
    try {
      entry.handlers = await runner.load(this.#limits.loadTimeout)
      if (launch?.assumed && runner instanceof SandboxProcess) isolationProven()
      this.events.emit({ type: 'plugin-loaded', id, isolation: runner.isolation, handlers: entry.handlers, duration: performance.now() - loadStarted })
    } catch (error) {
      if (launch?.assumed && runner instanceof SandboxProcess && !runner.spoke && (await this.#isolationRefused())) {
        // The machine refused the assumed isolation, not the plugin: launch it again with what it allows.
        entry.gate?.release()
        await runner.unload()
        return this.#bringUp(entry)
      }
      return this.#failed(entry, 'load', error)
    }
    const activateStarted = performance.now()
    try {
      await runner.hook('activate', this.#limits.activateTimeout)
    } catch (error) {
      return this.#failed(entry, 'activate', error)
    }
    if (entry.runner !== runner) return
    entry.state = 'active'
    this.events.emit({ type: 'plugin-activated', id, duration: performance.now() - activateStarted })
  }

  /** Probes the isolation after an assumed launch died silently: whether it is weaker than assumed. */
  async #isolationRefused(): Promise<boolean> {
    await probeIsolation(this.#user())
    const probed = launchIsolation()
    return !probed.assumed && (probed.isolation !== 'namespaces' || !probed.setpriv)
  }

  async #failed(entry: Entry, phase: 'load' | 'activate', error: unknown): Promise<void> {
    const reason = `${phase} failed: ${error instanceof Error ? error.message : String(error)}`
    this.#log.error({ plugin: entry.plugin.manifest.id, err: error }, `plugin disabled; ${reason}`)
    const runner = entry.runner
    entry.gate?.release()
    delete entry.runner
    await runner?.unload()
    entry.state = 'failed'
    entry.reason = reason
    this.events.emit({ type: 'plugin-failed', id: entry.plugin.manifest.id, phase, reason })
  }

  async #crashed(entry: Entry, runner: PluginRunner, error: PlinthError): Promise<void> {
    // A death while loading or activating fails that step instead; only an active plugin is restarted.
    if (entry.runner !== runner || this.#stopping || entry.state !== 'active') return
    const id = entry.plugin.manifest.id
    const reason = typeof error.details.reason === 'string' ? error.details.reason : error.message
    this.#log.error({ plugin: id }, `plugin process stopped: ${reason}`)
    this.events.emit({ type: 'plugin-crashed', id, reason })
    entry.gate?.release()
    delete entry.runner
    const now = Date.now()
    entry.restartTimes = entry.restartTimes.filter((t) => now - t < this.#limits.restartWindow)
    if (entry.restartTimes.length >= this.#limits.maxRestarts) {
      entry.state = 'failed'
      entry.reason = `stopped ${entry.restartTimes.length + 1} times within ${this.#limits.restartWindow} ms; last: ${reason}`
      this.events.emit({ type: 'plugin-disabled', id, reason: entry.reason })
      for (const dependant of this.#dependants(id)) await this.disable(dependant, `its dependency "${id}" failed`)
      return
    }
    entry.restartTimes.push(now)
    entry.restarts++
    entry.state = 'restarting'
    entry.reason = reason
    await this.#bringUp(entry)
    if ((entry.state as PluginState) === 'active') this.events.emit({ type: 'plugin-restarted', id, attempt: entry.restarts })
  }

  async #takeDown(entry: Entry): Promise<void> {
    const runner = entry.runner
    const id = entry.plugin.manifest.id
    delete entry.runner
    if (!runner) return
    if (entry.state === 'active') {
      try {
        await runner.hook('deactivate', this.#limits.deactivateTimeout)
        this.events.emit({ type: 'plugin-deactivated', id })
      } catch (error) {
        // A plugin that fails to deactivate is unloaded all the same.
        this.events.emit({ type: 'plugin-failed', id, phase: 'deactivate', reason: error instanceof Error ? error.message : String(error) })
      }
    }
    entry.gate?.release()
    await runner.unload()
    entry.state = 'stopped'
    entry.reason = 'unloaded'
    this.events.emit({ type: 'plugin-unloaded', id })
  }

  #missingDependency(entry: Entry): boolean {
    for (const dep of Object.keys(entry.plugin.manifest.dependencies)) {
      const state = this.#entries.get(dep)?.state
      if (state !== 'active') {
        entry.state = 'disabled'
        entry.reason = `its dependency "${dep}" is ${state ?? 'not installed'}`
        return true
      }
    }
    return false
  }

  #dependants(id: string): string[] {
    return this.#order.filter((other) => {
      const e = this.#entries.get(other)!
      return Object.hasOwn(e.plugin.manifest.dependencies, id) && (e.state === 'active' || e.state === 'restarting' || e.state === 'loading')
    })
  }

  #others(id: string) {
    return this.#order.filter((o) => o !== id).map((o) => ({ id: o, folder: this.#entries.get(o)!.plugin.folder, file: this.#entries.get(o)!.plugin.file, origin: 'folder' as const, manifest: this.#entries.get(o)!.plugin.manifest }))
  }

  #require(id: string): Entry {
    const entry = this.#entries.get(id)
    if (!entry) throw pluginErrors.create('PLINTH_ERR_PLUGIN_NOT_FOUND', `no plugin "${id}"; installed: ${[...this.#entries.keys()].join(', ') || 'none'}`)
    return entry
  }

  #callTimeout(entry: Entry): number {
    return entry.plugin.manifest.limits.callTimeout ?? this.#limits.callTimeout
  }

  #sandboxLimits(entry: Entry): SandboxLimits {
    const heapMb = entry.plugin.manifest.limits.memoryMb ?? this.#limits.memoryMb
    return {
      heapMb,
      // Node itself holds 40-60 MiB before the plugin allocates anything.
      residentBytes: (heapMb + 96) * 2 ** 20,
      maxMessageBytes: this.#limits.maxMessageBytes,
      maxMessagesPerSecond: this.#limits.maxMessagesPerSecond,
      maxPendingRequests: 256,
      heartbeatInterval: this.#limits.heartbeatInterval,
      heartbeatTimeout: Math.max(this.#limits.heartbeatTimeout, this.#callTimeout(entry)),
      memoryInterval: 100,
    }
  }

  #user(): { uid: number; gid: number } | undefined {
    if (this.#options.user === false) return undefined
    if (this.#options.user) return this.#options.user
    return process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : undefined
  }
}

function blank(): Omit<Entry, 'plugin' | 'state'> {
  return { handlers: [], calls: 0, errors: 0, refusals: 0, restarts: 0, restartTimes: [], callTime: 0, messages: 0 }
}
