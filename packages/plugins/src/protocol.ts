/**
 * The messages between the host and a plugin process: one JSON object per line on a pipe of
 * its own (fd 3), never a shared reference. The host decides what a message may do from which
 * process sent it, never from anything the message says about itself.
 */
import type { Capability } from './permissions.js'

/** What the plugin may ask the host, one operation per capability. */
export const hostOperations = {
  'state.get': 'state:read',
  'state.set': 'state:write',
  'topics.publish': 'topics:publish',
  'topics.subscribe': 'topics:subscribe',
  'routes.register': 'routes:register',
  'http.fetch': 'http:fetch',
  'files.read': 'files:read',
} as const satisfies Record<string, Capability>
export type HostOperation = keyof typeof hostOperations

/** A failure as it crosses the pipe. */
export interface WireError {
  readonly message: string
  readonly code?: string
}

export type HostToPlugin =
  | { t: 'init'; plugin: { id: string; version: string; level: string; capabilities: readonly Capability[] }; entry: string }
  | { t: 'hook'; id: number; hook: 'activate' | 'deactivate' }
  | { t: 'call'; id: number; handler: string; input: unknown }
  | { t: 'reply'; id: number; ok: true; value: unknown }
  | { t: 'reply'; id: number; ok: false; error: WireError }
  | { t: 'ping'; id: number }

export type PluginToHost =
  | { t: 'loaded'; handlers: string[] }
  | { t: 'load-failed'; error: WireError }
  | { t: 'result'; id: number; ok: true; value: unknown }
  | { t: 'result'; id: number; ok: false; error: WireError }
  | { t: 'host'; id: number; op: string; args: unknown[] }
  | { t: 'pong'; id: number }
  | { t: 'log'; level: string; message: string }
