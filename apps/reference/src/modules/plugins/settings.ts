import { fileURLToPath } from 'node:url'
import { z } from 'zod'

// The sample plugins ship beside the service (apps/reference/plugins), for src/ and dist/ alike.
const bundled = fileURLToPath(new URL('../../../plugins/', import.meta.url))

/**
 * The plugins module's section of the configuration (`plugins.*`; PLUGINS_DIR, PLUGINS_TRUSTED
 * as a comma-separated list).
 */
export const PluginSettings = z.object({
  /** The folder whose sub-folders are plugins. */
  dir: z.string().min(1).default(bundled),
  /** Plugin ids allowed at the system level, in the service's own process. */
  trusted: z
    .preprocess((v) => (typeof v === 'string' ? v.split(',').map((s) => s.trim()).filter(Boolean) : v), z.array(z.string().min(1)))
    .default(['unit-converter']),
  /** Deadline of one call into a sandboxed plugin (a plugin.json may set its own), in milliseconds. */
  callTimeout: z.coerce.number().int().min(10).max(600_000).default(1_000),
})
