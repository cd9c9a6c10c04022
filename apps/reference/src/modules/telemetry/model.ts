/**
 * What the telemetry module takes in and gives out. The zod schemas validate input from every
 * protocol, and their JSON Schema documents the REST routes at /docs.
 */
import { z } from 'zod'

const identifier = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.:-]*$/, 'must be letters, digits, _ . : or -, starting with a letter or digit')

const rfc3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})$/i

/** An RFC 3339 date-time, normalised to UTC (`2024-05-01T12:00:00.000Z`), so that stored times sort as text. */
export const Timestamp = z
  .string()
  .regex(rfc3339, 'must be an RFC 3339 date-time such as 2024-05-01T12:00:00Z')
  .refine((text) => !Number.isNaN(Date.parse(text)), 'is not a real date')
  .transform((text) => new Date(text).toISOString())
  .meta({ format: 'date-time' })

export const DeviceInput = z.object({
  id: identifier,
  kind: z.string().min(1).max(64).meta({ description: 'What the device is; devices of a kind get its default rules', examples: ['thermometer'] }),
  metadata: z.record(z.string().min(1).max(64), z.string().max(256)).default({}).meta({ examples: [{ room: 'kitchen' }] }),
})

export interface Device {
  readonly id: string
  readonly kind: string
  readonly metadata: Readonly<Record<string, string>>
  readonly registeredAt: string
}

export const ReadingInput = z.object({
  device: identifier,
  metric: z.string().min(1).max(64).meta({ examples: ['temperature'] }),
  value: z.number().meta({ examples: [21.5] }),
  timestamp: Timestamp.optional().meta({ description: 'When it was measured; with device and metric it identifies the reading, so one sent again is a duplicate. Default: when it arrives (never a duplicate)' }),
})

export interface Reading {
  readonly device: string
  readonly metric: string
  readonly value: number
  readonly timestamp: string
}

const ThresholdRule = z
  .object({
    kind: z.literal('threshold'),
    metric: z.string().min(1).max(64),
    above: z.number().optional(),
    below: z.number().optional(),
  })
  .refine((rule) => rule.above !== undefined || rule.below !== undefined, { message: 'needs "above", "below" or both', path: ['above'] })

const SilenceRule = z.object({
  kind: z.literal('silence'),
  seconds: z.number().int().min(1).max(604_800).meta({ description: 'A finding is raised once no reading has arrived for this long' }),
})

/** A diagnostic rule: a metric past a threshold, or no data for longer than N seconds. */
export const RuleInput = z.discriminatedUnion('kind', [ThresholdRule, SilenceRule])
export type RuleInput = z.output<typeof RuleInput>

export type Rule = RuleInput & { readonly id: string; readonly device: string; readonly createdAt: string }

/** What a rule found. `observedAt` is the reading's time (threshold) or the last time the device was heard from (silence). */
export interface Finding {
  readonly id: string
  readonly device: string
  readonly rule: string
  readonly kind: RuleInput['kind']
  readonly message: string
  readonly value: number | null
  readonly observedAt: string
  /** When the finding was raised. */
  readonly raisedAt: string
}

export const ReadingQuery = z
  .object({
    from: Timestamp.optional().meta({ description: 'Readings at or after this time' }),
    to: Timestamp.optional().meta({ description: 'Readings before this time' }),
    metric: z.string().min(1).max(64).optional(),
    limit: z.coerce.number().int().min(1).max(1_000).default(100),
  })
  .refine((q) => q.from === undefined || q.to === undefined || q.from < q.to, { message: 'must be after "from"', path: ['to'] })
export type ReadingQuery = z.output<typeof ReadingQuery>

/** What an ingest did: readings stored, readings already stored (a device re-sending), findings raised. */
export interface IngestResult {
  readonly stored: number
  readonly duplicates: number
  readonly findings: number
}

/** The WebSocket topic where a device's readings appear live. */
export function deviceTopic(device: string): string {
  return `telemetry:${device}`
}
