/**
 * A sandboxed plugin: a child process of its own, started with the permission model, a heap
 * cap, an empty environment and (where the machine allows) its own namespaces, talking to the
 * host only in size-limited JSON lines. Watchdogs kill it when a call passes its deadline, when
 * it stops answering pings, when its resident memory passes the limit, or when it floods the
 * host with messages; the host then restarts it.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { join } from 'node:path'
import type { Readable, Writable } from 'node:stream'
import type { Logger, PlinthError } from '@plinth/core'
import { pluginErrors } from './errors.js'
import { lineReader, plainData } from './framing.js'
import { launchPlan, readTreeResidentBytes, treeResidentBytes, type Isolation } from './isolation.js'
import type { PluginManifest } from './manifest.js'
import type { HostToPlugin, PluginToHost, WireError } from './protocol.js'
import type { DeathListener, LifecycleHook, PluginRunner } from './runner.js'

export interface SandboxLimits {
  /** Heap cap in MiB. */
  readonly heapMb: number
  /** Resident memory of the process tree past which it is killed, in bytes. */
  readonly residentBytes: number
  /** Largest message line the host reads, in bytes. */
  readonly maxMessageBytes: number
  /** Messages per second a plugin sends unasked (host requests, logs) past which it is killed as a flood; answers to calls do not count. */
  readonly maxMessagesPerSecond: number
  /** Host requests a plugin may have outstanding at once; more are refused. */
  readonly maxPendingRequests: number
  /** Ping interval, and how long a ping may go unanswered, in milliseconds. */
  readonly heartbeatInterval: number
  readonly heartbeatTimeout: number
  /** How often resident memory is read, in milliseconds. */
  readonly memoryInterval: number
}

export interface SandboxOptions {
  readonly folder: string
  readonly manifest: PluginManifest
  readonly isolation: Isolation
  /** Start it through util-linux `setpriv` (parent-death signal); probed when not given. */
  readonly setpriv?: boolean
  readonly limits: SandboxLimits
  /** Run the process as this user (the host drops root privileges to nobody by default). */
  readonly user?: { uid: number; gid: number }
  readonly log: Logger
  /** Carries out a request the plugin sent (the capability gate). */
  readonly onHostRequest: (op: string, args: unknown) => Promise<unknown>
  readonly onDeath: DeathListener
  /** Counted per message the plugin sends, for metrics. */
  readonly onMessage?: () => void
}

interface Waiter {
  resolve(value: unknown): void
  reject(error: PlinthError): void
  timer?: NodeJS.Timeout
}

/**
 * Runs one plugin in a sandboxed child process.
 *
 * @example
 * const sandbox = new SandboxProcess({ folder, manifest, isolation: availableIsolation(), limits, log, onHostRequest: (op, args) => gate.handle(op, args), onDeath: restart })
 * await sandbox.load(5_000)
 * await sandbox.call('filter', { text: 'hello' }, 1_000)
 */
export class SandboxProcess implements PluginRunner {
  readonly isolation: Isolation
  readonly #options: SandboxOptions
  #child: ChildProcess | undefined
  #pipe: Writable | undefined
  readonly #waiters = new Map<number, Waiter>()
  #loadWaiter: Waiter | undefined
  #nextId = 1
  #pendingRequests = 0
  #ending: string | undefined
  #exited: Promise<void> = Promise.resolve()
  readonly #timers: NodeJS.Timeout[] = []
  #pingSentAt: number | undefined
  #windowStart = 0
  #windowCount = 0
  #logLines = 0
  #dead = false
  #spoke = false
  #sampling = false

  constructor(options: SandboxOptions) {
    this.#options = options
    this.isolation = options.isolation
  }

  load(timeout: number): Promise<string[]> {
    const { folder, manifest, limits, isolation, user } = this.#options
    const plan = launchPlan(folder, limits.heapMb, isolation, undefined, this.#options.setpriv)
    // An empty environment: the host's secrets (DATABASE_URL, tokens) never reach a plugin.
    const child = spawn(plan.command, plan.args, { cwd: folder, env: {}, stdio: ['ignore', 'pipe', 'pipe', 'pipe'], ...(user ?? {}) })
    this.#child = child
    this.#pipe = child.stdio[3] as Writable
    this.#exited = new Promise((resolve) => child.once('close', () => resolve()))
    child.once('error', (error) => this.#died(`could not be started: ${error.message}`))
    child.once('exit', (code, signal) => this.#died(signal ? `was killed by ${signal}` : `exited with code ${code}`))
    ;(child.stdio[3] as Readable).on(
      'data',
      lineReader({
        maxBytes: limits.maxMessageBytes,
        onLine: (line) => this.#receive(line),
        onOversized: (bytes) => this.kill(`sent a message of more than ${bytes} bytes (limit ${limits.maxMessageBytes})`),
      }),
    )
    ;(child.stdio[3] as Readable).on('error', () => {})
    this.#pipe.on('error', () => {})
    for (const stream of [child.stdout, child.stderr]) stream?.on('data', (chunk: Buffer) => this.#output(chunk))

    // The heartbeat starts once the plugin has loaded (the load deadline covers a slow start).
    this.#timers.push(setInterval(() => void this.#checkMemory(), limits.memoryInterval).unref())

    return new Promise<string[]>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(pluginErrors.create('PLINTH_ERR_PLUGIN_TIMEOUT', `plugin "${manifest.id}" did not load within ${timeout} ms`))
        this.kill(`did not load within ${timeout} ms`)
      }, timeout)
      this.#loadWaiter = { resolve: (v) => resolve(v as string[]), reject, timer }
      this.#send({ t: 'init', plugin: { id: manifest.id, version: manifest.version, level: manifest.level, capabilities: manifest.capabilities }, entry: join(folder, manifest.entry) })
    })
  }

  async hook(hook: LifecycleHook, timeout: number): Promise<void> {
    await this.#request({ t: 'hook', id: this.#nextId++, hook }, `${hook}`, timeout)
  }

  call(handler: string, input: unknown, timeout: number): Promise<unknown> {
    return this.#request({ t: 'call', id: this.#nextId++, handler, input }, `call "${handler}"`, timeout)
  }

  /**
   * Whether the process has sent anything. One that died without a word may not have started
   * at all (a launch whose isolation the machine refused), rather than have failed in the plugin.
   */
  get spoke(): boolean {
    return this.#spoke
  }

  memoryBytes(): number | undefined {
    return this.#child?.pid === undefined || this.#ending ? undefined : treeResidentBytes(this.#child.pid)
  }

  /** Kills the process at once; pending calls fail with the reason. */
  kill(reason: string): void {
    if (this.#ending === undefined) this.#ending = reason
    this.#child?.kill('SIGKILL')
  }

  async unload(): Promise<void> {
    if (!this.#child || this.#child.exitCode !== null || this.#child.signalCode !== null) return this.#exited
    this.#ending ??= 'unloaded'
    // Closing the pipe ends the runtime; a plugin that holds on gets SIGKILL a second later.
    this.#pipe?.end()
    const late = setTimeout(() => this.#child?.kill('SIGKILL'), 1_000)
    await this.#exited
    clearTimeout(late)
  }

  #request(message: Extract<HostToPlugin, { id: number }>, what: string, timeout: number): Promise<unknown> {
    const id = this.#options.manifest.id
    if (this.#ending !== undefined || !this.#child) return Promise.reject(pluginErrors.create('PLINTH_ERR_PLUGIN_NOT_ACTIVE', `plugin "${id}" is not running (${this.#ending ?? 'not loaded'})`))
    let line: string
    try {
      line = `${JSON.stringify(message)}\n`
    } catch (error) {
      return Promise.reject(pluginErrors.create('PLINTH_ERR_PLUGIN_INVALID_MESSAGE', `the input of ${what} for plugin "${id}" cannot be sent as JSON: ${(error as Error).message}`))
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters.delete(message.id)
        reject(pluginErrors.create('PLINTH_ERR_PLUGIN_TIMEOUT', `plugin "${id}" ${what} ran past its ${timeout} ms deadline; its process was killed`, { details: { plugin: id, timeout } }))
        this.kill(`${what} ran past its ${timeout} ms deadline`)
      }, timeout)
      this.#waiters.set(message.id, { resolve, reject, timer })
      this.#pipe?.write(line)
    })
  }

  #send(message: HostToPlugin): void {
    this.#pipe?.write(`${JSON.stringify(message)}\n`)
  }

  #receive(line: string): void {
    const { limits, manifest } = this.#options
    this.#spoke = true
    this.#options.onMessage?.()
    let message: PluginToHost
    try {
      message = JSON.parse(line) as PluginToHost
    } catch {
      return this.kill('sent a message that is not JSON')
    }
    if (typeof message !== 'object' || message === null) return this.kill('sent a message that is not an object')
    // Answers to the host's calls and pings are as many as the host asked for, and host requests
    // are held to maxPendingRequests at a time; what else the plugin sends unasked (logs, stray
    // results, requests past that cap) counts towards the flood limit.
    const counted = !((message.t === 'result' && this.#waiters.has(message.id)) || message.t === 'pong' || message.t === 'loaded' || message.t === 'load-failed' || message.t === 'host')
    if (counted && this.#flooding()) return
    switch (message.t) {
      case 'loaded':
      case 'load-failed': {
        const waiter = this.#loadWaiter
        this.#loadWaiter = undefined
        if (!waiter) return
        clearTimeout(waiter.timer)
        if (message.t === 'loaded') this.#timers.push(setInterval(() => this.#heartbeat(), limits.heartbeatInterval).unref())
        if (message.t === 'loaded') waiter.resolve(Array.isArray(message.handlers) ? message.handlers.filter((h) => typeof h === 'string').slice(0, 1_000) : [])
        else waiter.reject(pluginErrors.create('PLINTH_ERR_PLUGIN_LIFECYCLE', `plugin "${manifest.id}" failed to load: ${wireMessage(message.error)}`))
        return
      }
      case 'result': {
        const waiter = typeof message.id === 'number' ? this.#waiters.get(message.id) : undefined
        if (!waiter) return
        this.#waiters.delete(message.id)
        clearTimeout(waiter.timer)
        if (message.ok === true) waiter.resolve(plainData(message.value))
        else waiter.reject(pluginErrors.create('PLINTH_ERR_PLUGIN_CALL_FAILED', `plugin "${manifest.id}": ${wireMessage(message.error)}`, { details: { plugin: manifest.id, pluginCode: message.error?.code } }))
        return
      }
      case 'host':
        return this.#hostRequest(message)
      case 'pong':
        this.#pingSentAt = undefined
        return
      case 'log':
        if (this.#logLines++ < 100) this.#options.log.info({ plugin: manifest.id }, `plugin says: ${String(message.message).slice(0, 2_000)}`)
        return
      default:
        return this.kill(`sent a message of unknown type ${JSON.stringify((message as { t?: unknown }).t)}`)
    }
  }

  /** Counts one unasked message; kills the plugin and says so when it passes the limit. */
  #flooding(): boolean {
    const now = Date.now()
    if (now - this.#windowStart >= 1_000) {
      this.#windowStart = now
      this.#windowCount = 0
    }
    if (++this.#windowCount <= this.#options.limits.maxMessagesPerSecond) return false
    this.kill(`flooded the host with more than ${this.#options.limits.maxMessagesPerSecond} unasked messages in a second`)
    return true
  }

  #hostRequest(message: Extract<PluginToHost, { t: 'host' }>): void {
    const id = message.id
    if (typeof id !== 'number') return this.kill('sent a host request without a numeric id')
    const reply = (ok: boolean, value: unknown) => this.#send(ok ? { t: 'reply', id, ok: true, value: value ?? null } : { t: 'reply', id, ok: false, error: value as WireError })
    if (this.#pendingRequests >= this.#options.limits.maxPendingRequests) {
      if (this.#flooding()) return
      reply(false, { message: `more than ${this.#options.limits.maxPendingRequests} host requests outstanding; wait for answers`, code: 'PLINTH_ERR_PLUGIN_INVALID_MESSAGE' })
      return
    }
    this.#pendingRequests++
    this.#options.onHostRequest(String(message.op), message.args).then(
      (value) => reply(true, value),
      (error: unknown) => reply(false, { message: error instanceof Error ? error.message : String(error), ...(typeof (error as { code?: unknown }).code === 'string' ? { code: (error as { code: string }).code } : {}) }),
    ).finally(() => this.#pendingRequests--)
  }

  #output(chunk: Buffer): void {
    // A plugin's stdout and stderr are logged, a little at a time: printing is no way to flood the host.
    if (this.#logLines++ < 100) this.#options.log.debug({ plugin: this.#options.manifest.id }, `plugin output: ${chunk.toString('utf8', 0, Math.min(chunk.length, 2_000)).trimEnd()}`)
  }

  #heartbeat(): void {
    this.#logLines = 0
    if (this.#ending !== undefined || !this.#child) return
    const now = Date.now()
    if (this.#pingSentAt !== undefined) {
      if (now - this.#pingSentAt > this.#options.limits.heartbeatTimeout) this.kill(`stopped answering for ${now - this.#pingSentAt} ms (a busy loop?)`)
      return
    }
    this.#pingSentAt = now
    this.#send({ t: 'ping', id: 0 })
  }

  /** The memory watchdog: reads /proc off the event loop, one read at a time. */
  async #checkMemory(): Promise<void> {
    const child = this.#child
    if (this.#sampling || child?.pid === undefined || this.#ending !== undefined) return
    this.#sampling = true
    try {
      const bytes = await readTreeResidentBytes(child.pid)
      // Killed or replaced while /proc was read: that reading is of a process that is gone.
      if (bytes === undefined || this.#child !== child || this.#ending !== undefined) return
      if (bytes > this.#options.limits.residentBytes) {
        this.kill(`held ${Math.round(bytes / 2 ** 20)} MiB resident, past its ${Math.round(this.#options.limits.residentBytes / 2 ** 20)} MiB limit`)
      }
    } finally {
      this.#sampling = false
    }
  }

  #died(how: string): void {
    if (this.#dead) return
    this.#dead = true
    for (const timer of this.#timers.splice(0)) clearInterval(timer)
    const planned = this.#ending === 'unloaded'
    const reason = this.#ending ?? `process ${how}`
    this.#ending = reason
    const error = pluginErrors.create('PLINTH_ERR_PLUGIN_CRASHED', `plugin "${this.#options.manifest.id}" stopped: ${reason}`, { details: { plugin: this.#options.manifest.id, reason } })
    if (this.#loadWaiter) {
      clearTimeout(this.#loadWaiter.timer)
      this.#loadWaiter.reject(pluginErrors.create('PLINTH_ERR_PLUGIN_LIFECYCLE', `plugin "${this.#options.manifest.id}" failed to load: ${reason}`, { cause: error }))
      this.#loadWaiter = undefined
    }
    for (const [id, waiter] of this.#waiters) {
      clearTimeout(waiter.timer)
      waiter.reject(error)
      this.#waiters.delete(id)
    }
    if (!planned) this.#options.onDeath(error)
  }
}

function wireMessage(error: unknown): string {
  const message = (error as WireError | undefined)?.message
  return typeof message === 'string' ? message.slice(0, 2_000) : 'unknown error'
}
