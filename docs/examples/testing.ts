import assert from 'node:assert/strict'
import { component, createApp, isPlinthError, provide } from '@plinth/core'
import { startTestApp } from '@plinth/core/testing'

const mailer = component('mailer', {
  create: () => ({ send: (to: string): Promise<void> => Promise.reject(new Error(`no SMTP server to send to ${to}`)) }),
})
const users = component('users', { create: () => new Set<string>() })
const signup = component('signup', {
  eager: true,
  deps: { users, mailer },
  create: ({ users, mailer }) => ({
    register: async (email: string) => {
      users.add(email)
      await mailer.send(email)
    },
  }),
})
export const app = createApp({ name: 'accounts', components: [mailer, users, signup] })

export async function main() {
  // #region test
  const sent: string[] = []
  await using t = await startTestApp(app, {
    overrides: [provide(mailer, { value: { send: (to: string) => Promise.resolve(void sent.push(to)) } })],
    argv: [], // configuration flags, as on the command line
    env: {}, // the test's environment; the machine's is not read
  })

  await t.get(signup).register('ada@example.com')

  assert.deepEqual(sent, ['ada@example.com'])
  assert.ok(t.get(users).has('ada@example.com'))
  assert.deepEqual(t.spy.of('component-started').map((event) => event.component).sort(), ['mailer', 'signup', 'users'])
  // leaving the block stops the app, and fails if anything did not stop cleanly
  // #endregion

  // #region failure
  const failing = createApp({
    name: 'accounts',
    components: [component('api', { eager: true, create: () => ({}), start: () => Promise.reject(new Error('port 8000 in use')) })],
  })
  await assert.rejects(startTestApp(failing), (error) => isPlinthError(error, 'PLINTH_ERR_BOOT_FAILED'))
  // #endregion
  return { sent, started: t.spy.of('component-started').map((event) => event.component) }
}
