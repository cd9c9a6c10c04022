import { Container, component, createApp, provide, token } from '@plinth/core'
import { startTestApp } from '@plinth/core/testing'

interface Clock {
  now(): Date
}
const Clock = token('clock').of<Clock>()
const systemClock = provide(Clock, { value: { now: () => new Date() } })

const mailer = component('mailer', {
  create: () => ({ send: (to: string, text: string): Promise<void> => Promise.reject(new Error(`no SMTP here (${to}: ${text})`)) }),
})

const invoices = component('invoices', {
  eager: true,
  deps: { clock: Clock, mailer },
  create: ({ clock, mailer }) => ({
    issue: (to: string) => mailer.send(to, `invoice of ${clock.now().toISOString().slice(0, 10)}`),
  }),
})

export const app = createApp({ name: 'billing', components: [systemClock, mailer, invoices] })

export async function main() {
  // #region overrides
  const sent: string[] = []
  const fakeMailer = {
    send: (to: string, text: string) => {
      sent.push(`${to}: ${text}`)
      return Promise.resolve()
    },
  }

  await using t = await startTestApp(app, {
    overrides: [
      provide(Clock, { value: { now: () => new Date('2025-01-31T12:00:00Z') } }),
      provide(mailer, { value: fakeMailer }), // a component is a token too
    ],
  })
  await t.get(invoices).issue('ada@example.com')
  // sent: ['ada@example.com: invoice of 2025-01-31']
  // #endregion

  // #region container
  await using container = new Container([systemClock, mailer, invoices], {
    overrides: [provide(mailer, { value: fakeMailer })],
  })
  // #endregion
  return { sent, replaced: container.get(mailer) === fakeMailer }
}
