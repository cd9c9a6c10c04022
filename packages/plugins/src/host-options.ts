/**
 * What a plugin host is told (options and limits, with their defaults) and what it reports
 * (each plugin's state and metrics).
 */
import { createRequire } from 'node:module'
import type { Logger } from '@plinth/core'
import type { PluginDiscoveryOptions } from './discovery.js'
import type { Isolation } from './isolation.js'
import type { HostServices } from './services.js'

/** Where a plugin is in its life. */
export type PluginState = 'loading' | 'active' | 'restarting' | 'disabled' | 'failed' | 'excluded' | 'stopped'

/** A plugin's health and metrics, as /health shows them. */
export interface PluginStatus {
  readonly id: string
  readonly version: string
  readonly level: string
  readonly state: PluginState
  /** Why it is not active, when it is not. */
  readonly reason?: string
  readonly isolation?: Isolation | 'in-process'
  readonly handlers: readonly string[]
  readonly calls: number
  readonly errors: number
  /** Requests beyond its grants, refused. */
  readonly refusals: number
  readonly restarts: number
  /** Total time spent in calls, in milliseconds. */
  readonly callTime: number
  readonly messages: number
  /** Resident memory of its process tree in bytes (sandboxed plugins on Linux). */
  readonly memory?: number
}

export interface HostLimits {
  /** Heap cap per plugin process in MiB (a manifest's limits.memoryMb overrides). Default 128. */
  readonly memoryMb: number
  /** Deadline of a call (a manifest's limits.callTimeout overrides). Default 1 000 ms. */
  readonly callTimeout: number
  readonly loadTimeout: number
  readonly activateTimeout: number
  readonly deactivateTimeout: number
  /** Restarts allowed within restartWindow before the plugin is disabled. Default 3 in 60 s. */
  readonly maxRestarts: number
  readonly restartWindow: number
  readonly maxMessageBytes: number
  readonly maxMessagesPerSecond: number
  readonly heartbeatInterval: number
  readonly heartbeatTimeout: number
}

export interface PluginHostOptions extends PluginDiscoveryOptions {
  /** Each plugin reads files only under `<dataDir>/<plugin id>/`. */
  readonly dataDir: string
  /** Ids allowed at the system level, in process. */
  readonly trusted?: readonly string[]
  /** Ids not to start (the catalogue's disabled plugins). */
  readonly disabled?: readonly string[]
  readonly services?: HostServices
  readonly log?: Logger
  readonly limits?: Partial<HostLimits>
  /** Default: the strongest this machine allows. */
  readonly isolation?: Isolation
  /** The user plugin processes run as; default nobody (65534) when the host runs as root, `false` to keep the host's. */
  readonly user?: { uid: number; gid: number } | false
  readonly plinthVersion?: string
}

/** The limits a host applies unless told otherwise. */
export const defaultLimits: HostLimits = {
  memoryMb: 128,
  callTimeout: 1_000,
  loadTimeout: 5_000,
  activateTimeout: 5_000,
  deactivateTimeout: 2_000,
  maxRestarts: 3,
  restartWindow: 60_000,
  maxMessageBytes: 1 << 20,
  maxMessagesPerSecond: 10_000,
  heartbeatInterval: 500,
  heartbeatTimeout: 2_000,
}

/**
 * The version of @plinth/core in use, which manifests' "plinth" ranges are checked against.
 *
 * @example
 * plinthVersion() // '0.1.0'
 */
export function plinthVersion(): string {
  return (createRequire(import.meta.url)('@plinth/core/package.json') as { version: string }).version
}
