/**
 * What the conversation module takes in and gives out. The zod schemas validate input from
 * every protocol, and their JSON Schema documents the REST routes at /docs.
 */
import { z } from 'zod'

export const ChildId = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9][A-Za-z0-9_-]*$/, 'must be letters, digits, _ or -, starting with a letter or digit')
  .meta({ examples: ['child-42'] })

/** A child's message to the companion. */
export const MessageInput = z.object({
  childId: ChildId,
  message: z.string().trim().min(1, 'must not be empty').max(2_000).meta({ examples: ['Why is the sky blue?'] }),
})
export type MessageInput = z.output<typeof MessageInput>

export const HistoryQuery = z.object({
  limit: z.coerce.number().int().min(1).max(200).default(20),
})

/** One turn of a conversation: the child's message and the companion's reply. */
export interface Exchange {
  readonly id: string
  readonly childId: string
  readonly message: string
  readonly reply: string
  /** Who wrote the reply: `local` or `openai`. */
  readonly provider: string
  /** True when the configured provider failed (or its circuit was open) and the local one answered instead. */
  readonly fallback: boolean
  /** When the reply was given, RFC 3339 in UTC. */
  readonly at: string
}
