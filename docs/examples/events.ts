import { assertNever, component, createApp, type App, type LifecycleEvent } from '@plinth/core'

// #region subscribe
/** Start durations per component, for a metrics exporter. */
function recordStartTimes(app: App): Map<string, number> {
  const durations = new Map<string, number>()
  app.events.subscribe((event) => {
    if (event.type === 'component-started') durations.set(event.component, event.duration) // narrowed by type
  })
  return durations
}
// #endregion

// #region exhaustive
type ComponentEvent = Extract<LifecycleEvent, { component: string }>

/** One line per component event; a new kind of component event is a compile error here. */
function describeEvent(event: ComponentEvent): string {
  switch (event.type) {
    case 'component-starting':
      return `${event.component}: starting, attempt ${event.attempt}`
    case 'component-started':
      return `${event.component}: started in ${event.duration.toFixed(1)} ms`
    case 'component-failed':
      return `${event.component}: failed${event.retryIn === undefined ? '' : `, retrying in ${event.retryIn} ms`}`
    case 'component-degraded':
      return `${event.component}: unavailable (${event.reason})`
    case 'component-stopping':
      return `${event.component}: stopping`
    case 'component-stopped':
      return `${event.component}: stopped`
    case 'component-stop-failed':
      return `${event.component}: failed to stop`
    default:
      return assertNever(event)
  }
}
// #endregion

const database = component('database', { create: () => ({}), start: () => new Promise<void>((resolve) => setTimeout(resolve, 5)) })
const api = component('api', { eager: true, deps: { database }, create: () => ({}) })
export const app = createApp({ name: 'orders', components: [database, api] })

export async function main() {
  const durations = recordStartTimes(app)
  await app.start()
  await app.stop()
  // #region timeline
  const timeline = app.timeline().map((event) => event.type) // every event so far, in order
  // #endregion
  const lines = app.timeline().flatMap((event) => ('component' in event ? [describeEvent(event)] : []))
  return { started: [...durations.keys()], timeline, lines }
}
