import { Container, accessor, component } from '@plinth/core'

// #region accessor
const currentUser = component('current-user', {
  lifetime: 'scoped',
  create: () => ({ name: 'anonymous' }),
})

const auditLog = component('audit-log', {
  deps: { user: accessor(currentUser) }, // () => { name: string }
  create: ({ user }) => {
    const entries: string[] = []
    return {
      entries,
      record: (what: string) => entries.push(`${user().name}: ${what}`), // resolved on each call
    }
  },
})
// #endregion

export async function main() {
  await using container = new Container([currentUser, auditLog])
  // #region requests
  for (const name of ['ada', 'grace']) {
    await container.runInScope('request', () => {
      container.get(currentUser).name = name // the request handler fills in who is calling
      container.get(auditLog).record('opened the invoice')
    })
  }
  // container.get(auditLog).entries: ['ada: opened the invoice', 'grace: opened the invoice']
  // #endregion
  return container.get(auditLog).entries
}
