import { component, createApp } from '@plinth/core'
import { startTestApp } from '@plinth/core/testing'

const built: string[] = []

// #region lazy
const database = component('database', {
  create: () => (built.push('database'), { query: (sql: string) => sql }),
  start: () => {}, // connect
})

const reportRenderer = component('report-renderer', {
  deps: { database }, // nothing eager needs it: built on first use
  create: ({ database }) => (built.push('report-renderer'), { render: () => database.query('select ...') }),
})

const mailer = component('mailer', {
  create: () => (built.push('mailer'), {}),
  start: () => {}, // never called: nothing eager needs the mailer
  stop: () => {},
})

const httpServer = component('http-server', {
  eager: true, // built and started at boot, with everything it needs
  deps: { database },
  create: () => (built.push('http-server'), {}),
})

export const app = createApp({ name: 'reports', components: [database, reportRenderer, mailer, httpServer] })
// #endregion

export async function main() {
  // #region boot
  const report = await app.check() // validates, starts nothing
  // report.warnings: ['"mailer" (docs/examples/laziness.ts:...) has lifecycle hooks but no eager component needs it, ...']

  await using t = await startTestApp(app)
  // built: ['database', 'http-server']
  t.get(reportRenderer).render()
  // built: ['database', 'http-server', 'report-renderer']
  // #endregion
  return { built, warning: report.warnings.find((warning) => warning.startsWith('"mailer"')) }
}
