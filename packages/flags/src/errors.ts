import { defineErrors } from '@plinth/core'

/**
 * The catalogue of `@plinth/flags`.
 *
 * @example
 * if (flagsErrors.is(error, 'PLINTH_ERR_FLAGS_INVALID')) console.error(error.describe())
 */
export const flagsErrors = defineErrors('@plinth/flags', {
  PLINTH_ERR_FLAGS_INVALID: {
    title: 'Invalid feature flag definitions',
    hint: 'Fix each flag and field listed (where names the configuration key or the file); a flag has a type (boolean, string, number, object), variants of that type and a defaultVariant among them.',
  },
  PLINTH_ERR_FLAGS_FILE: {
    title: 'The feature flag file cannot be read',
    hint: 'Create the file named (JSON: { "flags": { ... } }), make it readable, or leave the file option out; while the app runs, an unreadable or invalid file keeps the last good flags.',
  },
  PLINTH_ERR_FLAGS_UNKNOWN_CHECK: {
    title: 'A flag is bound to a health check that does not exist',
    hint: 'Name an existing check in the flag\'s fallback.check (the names are listed at /health and in the message), or remove the fallback.',
  },
})
