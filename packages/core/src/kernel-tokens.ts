import type { App } from './app.js'
import type { Logger as PinoLogger } from 'pino'
import { token } from './token.js'

/**
 * Each component's own logger: a child of the app's logger named after the component that
 * depends on it.
 *
 * @example
 * component('mailer', { deps: { log: Logger }, create: ({ log }) => new Mailer(log) })
 */
export const Logger = token('logger').of<Logger>()
/** A pino logger. */
export type Logger = PinoLogger

/** The running application itself: its state, events and configuration (for servers and probes). */
export const Application = token('app').of<App>()

/** Names the kernel provides to every app, for the compile-time check of missing providers. */
export type KernelTokenName = 'logger' | 'app' | 'config'
