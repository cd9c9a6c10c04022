import { Container, PlinthError, component, formatProblems, provide, token } from '@plinth/core'

interface Mailer {
  send(to: string): Promise<void>
}
const Mailer = token('mailer').of<Mailer>()
const Templates = token('templates').of<Map<string, string>>()

// #region providers
const currentUser = component('current-user', { lifetime: 'scoped', create: () => ({ email: '' }) })
const notifications = component('notifications', {
  deps: { mailer: Mailer, templates: Templates, user: currentUser },
  create: ({ mailer, user }) => ({ notify: () => mailer.send(user.email) }),
})
const providers = [
  provide(Mailer, { value: { send: () => Promise.resolve() } }),
  provide(Mailer, { value: { send: () => Promise.resolve() } }),
  currentUser,
  notifications,
]
// #endregion

export async function main() {
  // #region validate
  const problems = Container.validate(providers) // every problem, nothing built
  const report = formatProblems(problems) // what `plinth check` prints
  // #endregion

  let described = ''
  try {
    // #region throw
    await using container = new Container(providers) // throws one PlinthError listing every problem
    // #endregion
    void container
  } catch (error) {
    if (error instanceof PlinthError) described = error.describe()
  }
  return { codes: problems.map((p) => p.code), report, described }
}
