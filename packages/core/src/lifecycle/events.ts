import type { BootstrapAction } from '../bootstrap/action.js'

/** Where an application is in its life; `ready` and `degraded` take traffic. */
export type AppState = 'created' | 'starting' | 'ready' | 'degraded' | 'stopping' | 'stopped' | 'failed'

/** The phases of an application's life, each timed and recorded. */
export type Phase = 'config' | 'bootstrap' | 'modules' | 'validate' | 'start' | 'shutdown'

interface At {
  /** Milliseconds since process start (performance.now()). */
  readonly at: number
}

interface Of {
  readonly component: string
  readonly module?: string | undefined
}

/**
 * Everything that happens to an application, as one typed stream. Logging, metrics, the boot
 * trace, the /boot endpoint and tests are all subscribers; nothing parses log lines.
 */
export type LifecycleEvent =
  | ({ type: 'phase-started'; phase: Phase } & At)
  | ({ type: 'phase-completed'; phase: Phase; duration: number } & At)
  | ({ type: 'phase-failed'; phase: Phase; duration: number; error: unknown } & At)
  | ({ type: 'component-starting'; attempt: number } & Of & At)
  | ({ type: 'component-started'; duration: number; createDuration: number; startDuration: number; attempts: number } & Of & At)
  | ({ type: 'component-failed'; duration: number; attempt: number; error: unknown; retryIn: number | undefined } & Of & At)
  | ({ type: 'component-degraded'; reason: string; error: unknown } & Of & At)
  | ({ type: 'rolling-back'; failures: readonly { component: string; error: unknown }[] } & At)
  | ({ type: 'rolled-back'; duration: number } & At)
  | ({
      type: 'ready'
      duration: number
      criticalPath: readonly CriticalStep[]
      degraded: readonly string[]
      endpoints: readonly { name: string; url: string }[]
      /** Modules left out of this start, each with why: the app runs without them. */
      excludedModules: readonly { id: string; reason: string }[]
    } & At)
  /** `drain`: milliseconds the servers keep answering, readiness at 503, before components stop. */
  | ({ type: 'shutdown-requested'; reason: string; drain: number } & At)
  | ({ type: 'component-stopping' } & Of & At)
  | ({ type: 'component-stopped'; duration: number } & Of & At)
  | ({ type: 'component-stop-failed'; duration: number; error: unknown } & Of & At)
  | ({ type: 'stopped'; duration: number; unfinished: readonly string[] } & At)
  // Modules, phase 1 (register) and phase 2 (init).
  | ({ type: 'module-registered'; module: string; version: string; source: string; components: number } & At)
  | ({ type: 'module-excluded'; module: string; source: string; required: boolean; reason: string; error: unknown } & At)
  | ({ type: 'module-initialising'; module: string } & At)
  | ({ type: 'module-initialised'; module: string; duration: number } & At)
  | ({ type: 'module-degraded'; module: string; required: boolean; reason: string; error: unknown } & At)
  // The bootstrap phase: each handler's attempts, what it did (or, in a dry run, would do), and the outcome.
  | ({ type: 'bootstrap-handler-started'; handler: string; attempt: number; dryRun: boolean } & At)
  | ({ type: 'bootstrap-handler-completed'; handler: string; duration: number; actions: number } & At)
  | ({ type: 'bootstrap-handler-failed'; handler: string; duration: number; attempt: number; error: unknown; retryIn: number | undefined } & At)
  | ({ type: 'bootstrap-action'; dryRun: boolean } & BootstrapAction & At)
  | ({ type: 'bootstrap-progress'; handler: string; target: string; received: number; total: number | undefined } & At)
  | ({ type: 'bootstrap-finished'; dryRun: boolean; performed: number; skipped: number; failed: readonly string[]; duration: number } & At)

export type LifecycleEventType = LifecycleEvent['type']

/** One component on the boot's critical path, with the time its own create and start took. */
export interface CriticalStep {
  readonly component: string
  readonly duration: number
}

export type Listener<E> = (event: E) => void

/**
 * A synchronous typed event stream. A failing subscriber never breaks the lifecycle: its error
 * is reported on process 'warning' and the other subscribers still hear the event.
 *
 * @example
 * const off = app.events.subscribe((e) => { if (e.type === 'ready') console.log(e.duration) })
 */
export class EventStream<E extends { type: string }> {
  #listeners: Listener<E>[] = []

  subscribe(listener: Listener<E>): () => void {
    this.#listeners = [...this.#listeners, listener]
    return () => {
      this.#listeners = this.#listeners.filter((l) => l !== listener)
    }
  }

  emit(event: E): void {
    for (const listener of this.#listeners) {
      try {
        listener(event)
      } catch (error) {
        process.emitWarning(`a lifecycle subscriber threw on "${event.type}": ${String(error)}`, 'PlinthWarning')
      }
    }
  }
}

/**
 * Compile-time exhaustiveness check for switches over a discriminated union.
 *
 * @example
 * switch (event.type) {
 *   case 'ready': return 'up'
 *   // ... every other type
 *   default: return assertNever(event) // a compile error once a new event type is unhandled
 * }
 */
export function assertNever(value: never): never {
  throw new Error(`unhandled case: ${JSON.stringify(value)}`)
}

/**
 * A subscriber that records every event, for tests (fx's spy logger).
 *
 * @example
 * const spy = new EventSpy(); app.events.subscribe(spy.listener)
 * await app.start(); expect(spy.types()).toContain('ready')
 */
export class EventSpy<E extends { type: string } = LifecycleEvent> {
  readonly events: E[] = []
  readonly listener: Listener<E> = (event) => {
    this.events.push(event)
  }

  types(): string[] {
    return this.events.map((e) => e.type)
  }

  of<T extends E['type']>(type: T): Extract<E, { type: T }>[] {
    return this.events.filter((e): e is Extract<E, { type: T }> => e.type === type)
  }
}
