import { Container, component, provide, token } from '@plinth/core'

export async function main() {
  try {
    // #region problem
    const Database = token('database').of<{ query(sql: string): unknown }>()
    const Databse = token('databse').of<{ query(sql: string): unknown }>() // a typo, declared elsewhere
    const users = component('users', { deps: { db: Databse }, create: ({ db }) => db })

    await using container = new Container([provide(Database, { value: { query: () => [] } }), users])
    // #endregion
    return `no error: ${container.has(users)}`
  } catch (error) {
    return (error as Error).message
  }
}
