import { assertNever, type EventStream, type LifecycleEvent } from './events.js'
import { describe } from './lifecycle.js'
import type { Logger } from './logger-types.js'

const ms = (value: number) => `${value.toFixed(1)} ms`

/** Logs the lifecycle: one line per notable event, the ready line with boot time and critical path. */
export function logEvents(events: EventStream<LifecycleEvent>, log: Logger): () => void {
  return events.subscribe((event) => {
    switch (event.type) {
      case 'phase-started':
      case 'component-starting':
      case 'component-stopping':
        log.trace({ event: event.type, ...('component' in event ? { component: event.component } : {}) }, event.type)
        return
      case 'phase-completed':
        log.debug({ phase: event.phase, duration: event.duration }, `${event.phase} phase done in ${ms(event.duration)}`)
        return
      case 'phase-failed':
        log.debug({ phase: event.phase, duration: event.duration }, `${event.phase} phase failed after ${ms(event.duration)}`)
        return
      case 'component-started':
        log.debug(
          { component: event.component, module: event.module, duration: event.duration, attempts: event.attempts },
          `${event.component} started in ${ms(event.duration)}`,
        )
        return
      case 'component-failed':
        log[event.retryIn === undefined ? 'error' : 'warn'](
          { component: event.component, module: event.module, attempt: event.attempt, err: event.error },
          event.retryIn === undefined
            ? `${event.component} failed: ${describe(event.error)}`
            : `${event.component} failed (attempt ${event.attempt}), retrying in ${event.retryIn} ms: ${describe(event.error)}`,
        )
        return
      case 'component-degraded':
        log.warn({ component: event.component, module: event.module }, `${event.component} is unavailable; running degraded: ${event.reason}`)
        return
      case 'rolling-back':
        log.error({ failed: event.failures.map((f) => f.component) }, 'start-up failed; stopping what had started')
        return
      case 'rolled-back':
        log.info({ duration: event.duration }, `rolled back in ${ms(event.duration)}`)
        return
      case 'ready': {
        const path = event.criticalPath.map((s) => `${s.component} (${ms(s.duration)})`).join(' -> ')
        const degraded = event.degraded.length > 0 ? `; degraded: ${event.degraded.join(', ')}` : ''
        const endpoints = event.endpoints.length > 0 ? `; ${event.endpoints.map((e) => `${e.name} ${e.url}`).join(', ')}` : ''
        log.info(
          { bootMs: Math.round(event.duration * 10) / 10, criticalPath: event.criticalPath, degraded: event.degraded, endpoints: event.endpoints },
          `ready in ${ms(event.duration)}${endpoints}; critical path: ${path || '(nothing to start)'}${degraded}`,
        )
        return
      }
      case 'shutdown-requested':
        log.info({ reason: event.reason }, `shutting down (${event.reason})`)
        return
      case 'component-stopped':
        log.debug({ component: event.component, duration: event.duration }, `${event.component} stopped in ${ms(event.duration)}`)
        return
      case 'component-stop-failed':
        log.error({ component: event.component, err: event.error }, `${event.component} failed to stop: ${describe(event.error)}`)
        return
      case 'stopped':
        if (event.unfinished.length > 0) log.error({ unfinished: event.unfinished }, `shutdown deadline passed; still stopping: ${event.unfinished.join(', ')}`)
        else log.info({ duration: event.duration }, `stopped in ${ms(event.duration)}`)
        return
      default:
        assertNever(event)
    }
  })
}
