import type { Logger as PinoLogger } from 'pino'

/** A pino logger. Plinth logs through pino; a component's logger is a child named after it. */
export type Logger = PinoLogger
