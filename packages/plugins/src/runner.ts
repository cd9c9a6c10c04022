/** How the host drives one plugin, whether sandboxed in a process or trusted in the host's own. */
import type { PlinthError } from '@plinth/core'
import type { Isolation } from './isolation.js'

export type LifecycleHook = 'activate' | 'deactivate'

/** One loaded plugin, as the host drives it. */
export interface PluginRunner {
  /** `in-process` for trusted (system) plugins; otherwise how the child process is isolated. */
  readonly isolation: Isolation | 'in-process'
  /** Starts the plugin (process and import); resolves to its handler names. */
  load(timeout: number): Promise<string[]>
  hook(hook: LifecycleHook, timeout: number): Promise<void>
  call(handler: string, input: unknown, timeout: number): Promise<unknown>
  /** Ends the plugin; never rejects. */
  unload(): Promise<void>
  /** Resident memory of the plugin's process tree, when it has one of its own. */
  memoryBytes(): number | undefined
}

/** Called once when a sandboxed plugin's process ends without being asked to. */
export type DeathListener = (error: PlinthError) => void
