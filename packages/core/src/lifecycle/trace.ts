import { writeFileSync } from 'node:fs'
import type { EventStream, LifecycleEvent } from './events.js'

/** One complete ("X") event of the Chrome trace-event format. */
interface TraceEvent {
  name: string
  cat: string
  ph: 'X' | 'i' | 'M'
  ts: number
  dur?: number
  pid: number
  tid: number
  s?: 't' | 'g'
  args?: Record<string, unknown>
}

/**
 * Records boot and shutdown as Chrome trace-event JSON, which Perfetto and chrome://tracing
 * open. Components that ran at the same time go on separate lanes, so concurrency is visible.
 *
 * @example
 * const trace = recordTrace(app.events)
 * await app.start(); await app.stop()
 * trace.write('boot.trace.json')
 */
export function recordTrace(events: EventStream<LifecycleEvent>): { events(): TraceEvent[]; write(path: string): void; stop(): void } {
  const out: TraceEvent[] = []
  const open = new Map<string, { at: number; name: string; cat: string }>()
  const laneEnds: number[] = []
  const us = (ms: number) => Math.round(ms * 1000)
  const lane = (start: number, end: number) => {
    let index = laneEnds.findIndex((laneEnd) => laneEnd <= start)
    if (index === -1) index = laneEnds.push(0) - 1
    laneEnds[index] = end
    return index + 1
  }
  const begin = (key: string, name: string, cat: string, at: number) => open.set(key, { at, name, cat })
  const end = (key: string, at: number, args: Record<string, unknown> = {}) => {
    const began = open.get(key)
    if (!began) return
    open.delete(key)
    const isPhase = began.cat === 'phase'
    out.push({ name: began.name, cat: began.cat, ph: 'X', ts: us(began.at), dur: us(at - began.at), pid: 1, tid: isPhase ? 0 : lane(began.at, at), args })
  }
  const unsubscribe = events.subscribe((event) => {
    switch (event.type) {
      case 'phase-started':
        begin(`phase:${event.phase}`, event.phase, 'phase', event.at)
        break
      case 'phase-completed':
      case 'phase-failed':
        end(`phase:${event.phase}`, event.at, { outcome: event.type === 'phase-failed' ? 'failed' : 'completed' })
        break
      case 'component-starting':
        if (!open.has(`start:${event.component}`)) begin(`start:${event.component}`, `start ${event.component}`, 'start', event.at)
        break
      case 'component-started':
        end(`start:${event.component}`, event.at, { attempts: event.attempts, module: event.module })
        break
      case 'component-failed':
        if (event.retryIn === undefined) end(`start:${event.component}`, event.at, { failed: String(event.error) })
        break
      case 'component-stopping':
        begin(`stop:${event.component}`, `stop ${event.component}`, 'stop', event.at)
        break
      case 'component-stopped':
      case 'component-stop-failed':
        end(`stop:${event.component}`, event.at)
        break
      case 'shutdown-requested':
        begin('shutdown', 'shutdown', 'phase', event.at)
        out.push({ name: `shutdown: ${event.reason}`, cat: 'shutdown', ph: 'i', s: 'g', ts: us(event.at), pid: 1, tid: 0 })
        break
      case 'stopped':
        end('shutdown', event.at, { unfinished: event.unfinished })
        break
      case 'ready':
        out.push({ name: 'ready', cat: 'boot', ph: 'i', s: 'g', ts: us(event.at), pid: 1, tid: 0, args: { criticalPath: event.criticalPath } })
        break
      case 'bootstrap-handler-started':
        // Retries stay inside one span, as a component's do.
        if (!open.has(`bootstrap:${event.handler}`)) begin(`bootstrap:${event.handler}`, `bootstrap ${event.handler}`, 'bootstrap', event.at)
        break
      case 'bootstrap-handler-completed':
        end(`bootstrap:${event.handler}`, event.at, { actions: event.actions })
        break
      case 'bootstrap-handler-failed':
        if (event.retryIn === undefined) end(`bootstrap:${event.handler}`, event.at, { failed: String(event.error) })
        break
      case 'module-initialising':
        begin(`init:${event.module}`, `init ${event.module}`, 'init', event.at)
        break
      case 'module-initialised':
      case 'module-degraded':
        end(`init:${event.module}`, event.at, event.type === 'module-degraded' ? { degraded: event.reason } : {})
        break
      default:
        break
    }
  })
  const metadata = (): TraceEvent[] => [
    { name: 'process_name', cat: '__metadata', ph: 'M', ts: 0, pid: 1, tid: 0, args: { name: 'plinth' } },
    { name: 'thread_name', cat: '__metadata', ph: 'M', ts: 0, pid: 1, tid: 0, args: { name: 'phases' } },
  ]
  return {
    events: () => [...metadata(), ...out],
    write: (path) => writeFileSync(path, JSON.stringify({ traceEvents: [...metadata(), ...out], displayTimeUnit: 'ms' })),
    stop: unsubscribe,
  }
}
