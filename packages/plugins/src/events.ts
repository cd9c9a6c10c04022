/** What happens to plugins, as a typed event stream (logs, metrics and tests subscribe). */

/** One event in a plugin's life. */
export type PluginEvent =
  | { type: 'plugin-excluded'; id: string; reason: string }
  | { type: 'plugin-loaded'; id: string; isolation: string; handlers: readonly string[]; duration: number }
  | { type: 'plugin-activated'; id: string; duration: number }
  | { type: 'plugin-deactivated'; id: string }
  | { type: 'plugin-unloaded'; id: string }
  | { type: 'plugin-failed'; id: string; phase: 'load' | 'activate' | 'deactivate'; reason: string }
  | { type: 'plugin-crashed'; id: string; reason: string }
  | { type: 'plugin-restarted'; id: string; attempt: number }
  | { type: 'plugin-disabled'; id: string; reason: string }
  | { type: 'plugin-enabled'; id: string }
  | { type: 'plugin-refused'; id: string; operation: string; reason: string }

export type PluginEventType = PluginEvent['type']
