import { Container, component } from '@plinth/core'

// #region declare
const session = component('session', {
  lifetime: 'scoped',
  scope: 'session', // lives as long as a "session" scope
  create: () => ({ user: 'ada', requests: 0 }),
})

const requestInfo = component('request-info', {
  lifetime: 'scoped', // scope: 'request' by default
  deps: { session }, // found in the enclosing session scope
  create: ({ session }) => ({ user: session.user, number: ++session.requests }),
})
// #endregion

export async function main() {
  const container = new Container([session, requestInfo])

  // #region nest
  await using sessionScope = container.createScope('session')
  const seen = await sessionScope.run(async () => [
    await container.runInScope('request', () => container.get(requestInfo)),
    await container.runInScope('request', () => container.get(requestInfo)),
  ])
  // seen: [{ user: 'ada', number: 1 }, { user: 'ada', number: 2 }]
  // #endregion

  return { seen, sessionRequests: sessionScope.run(() => container.get(session).requests) }
}
