import { Container, component } from '@plinth/core'

export async function main() {
  try {
    // #region problem
    const currentUser = component('current-user', { lifetime: 'scoped', create: () => ({ name: 'anonymous' }) })
    const greeting = component('greeting', {
      lifetime: 'transient',
      deps: { user: currentUser },
      create: ({ user }) => `hello ${user.name}`,
    })
    const homePage = component('home-page', {
      deps: { greeting }, // a singleton: built once, it would keep the first request's user forever
      create: ({ greeting }) => ({ render: () => greeting }),
    })
    await using container = new Container([currentUser, greeting, homePage])
    // #endregion
    return `no error: ${container.has(homePage)}`
  } catch (error) {
    return (error as Error).message
  }
}
