import { Container, component } from '@plinth/core'

const log: string[] = []

// #region dispose
class Connection implements AsyncDisposable {
  query(sql: string): Promise<unknown[]> {
    log.push(`query: ${sql}`)
    return Promise.resolve([])
  }

  // Used when the provider declares no dispose function.
  [Symbol.asyncDispose](): Promise<void> {
    log.push('connection released')
    return Promise.resolve()
  }
}

const connection = component('connection', { lifetime: 'scoped', create: () => new Connection() })

const transaction = component('transaction', {
  lifetime: 'scoped',
  deps: { connection },
  create: ({ connection }) => ({ connection, committed: false }),
  dispose: (tx) => void log.push(tx.committed ? 'transaction closed' : 'transaction rolled back'),
})
// #endregion

export async function main() {
  const container = new Container([connection, transaction])
  // #region order
  await container.runInScope('request', async () => {
    const tx = container.get(transaction) // builds connection, then transaction
    await tx.connection.query('insert into orders ...')
    tx.committed = true
  })
  // log: query: insert into orders ..., transaction closed, connection released
  // #endregion
  return log
}
