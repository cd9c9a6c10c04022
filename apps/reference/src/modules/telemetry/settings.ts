import { z } from 'zod'

/**
 * The telemetry module's section of the configuration (`telemetry.*`; the environment names
 * follow the keys: TELEMETRY_MAX_BATCH, TELEMETRY_SILENCE_CHECK_INTERVAL).
 */
export const TelemetrySettings = z.object({
  /** The most readings one batch may carry: a REST batch or a gRPC stream. */
  maxBatch: z.coerce.number().int().min(1).max(10_000).default(1_000),
  /** How often silence rules are evaluated, in milliseconds. */
  silenceCheckInterval: z.coerce.number().int().min(50).max(3_600_000).default(5_000),
})
