/** Plinth logs through pino; a component's logger is a child named after it. */
export type { Logger } from './kernel-tokens.js'
