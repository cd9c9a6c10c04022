import { Container, component } from '@plinth/core'

export async function main() {
  try {
    // #region problem
    const requestLog = component('request-log', {
      lifetime: 'scoped',
      create: () => [] as string[],
      stop: (lines) => void lines.splice(0), // only singletons have start, stop and health hooks
    })
    const worker = component('worker', {
      lifetime: 'transient',
      eager: true, // a transient has nothing to build at start
      create: () => ({}),
    })
    await using container = new Container([requestLog, worker])
    // #endregion
    return `no error: ${container.has(worker)}`
  } catch (error) {
    return (error as Error).message
  }
}
