import { z } from 'zod'

const pattern = z.string().refine((source) => {
  try {
    new RegExp(source, 'iu')
    return true
  } catch {
    return false
  }
}, 'must be a valid regular expression')

/**
 * The conversation module's section of the configuration (`conversation.*`). The provider and
 * the OpenAI-compatible endpoint also have short environment names (AI_PROVIDER,
 * OPENAI_BASE_URL, OPENAI_MODEL, OPENAI_API_KEY); the API key is a secret, redacted wherever
 * the configuration is printed or logged.
 */
export const ConversationSettings = z
  .object({
    /** Who writes the replies: `local` (deterministic, offline; the default) or `openai` (any chat-completions API). */
    provider: z.enum(['local', 'openai']).default('local'),
    openai: z
      .object({
        baseUrl: z.url().default('https://api.openai.com/v1'),
        model: z.string().min(1).default('gpt-4o-mini'),
        apiKey: z.string().min(1).optional(),
        /** Deadline of one call, in milliseconds. */
        timeout: z.coerce.number().int().min(100).default(10_000),
        /** Attempts per reply, the first included, for failures that may pass (timeouts, 429, 5xx). */
        attempts: z.coerce.number().int().min(1).max(10).default(3),
        /** Delay before the first retry, in milliseconds; it doubles, with jitter. */
        retryDelay: z.coerce.number().int().min(0).default(200),
        /** Replies that failed in a row before the circuit opens and the local provider answers alone. */
        failureThreshold: z.coerce.number().int().min(1).default(3),
        /** How long the circuit stays open before a trial call, in milliseconds. */
        resetTimeout: z.coerce.number().int().min(100).default(30_000),
      })
      .prefault({}),
    /** Earlier exchanges of the conversation a provider sees with a new message. */
    contextTurns: z.coerce.number().int().min(0).max(100).default(10),
    /** The safety filter, run on every message and every reply. */
    safety: z
      .object({
        /** Words and phrases refused wherever they appear as whole words, in any case. */
        words: z.array(z.string().min(1)).default(['password', 'credit card', 'home address']),
        /** Regular expressions (case-insensitive) refused anywhere: by default, e-mail addresses and phone numbers. */
        patterns: z.array(pattern).default(['[\\w.+-]+@[\\w-]+\\.[\\w.-]+', '(?:\\+?\\d[\\s().-]?){9,}']),
      })
      .prefault({}),
  })
  .superRefine((settings, context) => {
    if (settings.provider === 'openai' && settings.openai.apiKey === undefined) {
      context.addIssue({ code: 'custom', path: ['openai', 'apiKey'], message: 'is required when conversation.provider is "openai"; set OPENAI_API_KEY' })
    }
  })
