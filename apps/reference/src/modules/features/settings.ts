import { validateFlags } from '@plinth/flags'
import { z } from 'zod'

/**
 * Feature flags in the configuration (`flags.<key>`, per environment through
 * config/<APP_ENV>.yaml), over the service's own (flags.ts). Validated with the configuration, so
 * that `plinth check` and a start with a bad flag both say which flag and field is wrong.
 */
export const FlagSettings = z.record(z.string(), z.unknown()).superRefine((flags, context) => {
  for (const problem of validateFlags(flags, 'flags').problems) {
    context.addIssue({ code: 'custom', path: problem.path.split('.').slice(1), message: problem.message })
  }
})
