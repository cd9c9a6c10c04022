/**
 * The saga runner as a component: it resumes what a previous process left, follows the store for
 * event-driven sagas, and reports sagas that need attention in health and metrics.
 */
import { Metrics, backoffDelay, component, optional, sleep, token, type HealthResult } from '@plinth/core'
import { Database } from '@plinth/db'
import { whileOptionalDown } from './component.js'
import { EventStore } from './tokens.js'
import type { SagaDefinition } from './saga.js'
import { SagaRunner } from './saga-runner.js'

/**
 * Sagas the app runs: contribute each with `provide(SagaDefinitions, { value: saga({...}) })`.
 *
 * @example
 * export const provisioning = provide(SagaDefinitions, { value: provisionDevice })
 */
export const SagaDefinitions = token('saga-definitions').many<SagaDefinition<any>>()

/**
 * The app's saga runner (add it to the components beside `...eventStore()`); depend on it to start sagas.
 *
 * @example
 * component('devices', { deps: { sagas: Sagas }, create: ({ sagas }) => ({ provision: (device: string) => sagas.start(provisionDevice, { device }) }) })
 */
export const Sagas = component('sagas', {
  eager: true,
  deps: { db: Database, store: EventStore, definitions: SagaDefinitions, metrics: optional(Metrics) },
  create: ({ db, store, definitions, metrics }) => {
    const transitions = metrics?.counter({ name: 'plinth_saga_transitions_total', help: 'Saga status changes, by saga and new status', labelNames: ['saga', 'status'] })
    const attention = metrics?.gauge({ name: 'plinth_sagas_needing_attention', help: 'Sagas that could not compensate and are not resolved yet' })
    const recount = () => void runner.list(['needs-attention']).then((stuck) => attention?.set(stuck.length), () => undefined)
    const runner: SagaRunner = new SagaRunner(db.kysely, {
      sagas: definitions,
      store,
      onStatus: (state) => {
        transitions?.inc({ saga: state.name, status: state.status })
        if (state.status === 'needs-attention' || state.status === 'resolved') recount()
      },
    })
    if (attention) attentionGauges.set(runner, (count) => attention.set(count))
    databases.set(runner, db)
    return runner
  },
  start: async (runner) => {
    const db = databases.get(runner)!
    const begin = async () => {
      await runner.resume()
      await runner.listen()
    }
    try {
      await begin()
    } catch (error) {
      if (!db.optional) throw error
      whileOptionalDown(true, error) // rethrows anything but an unreachable database
      // An optional database that is down (SKIP_DB_INIT): start anyway, resume once it answers.
      const stopping = new AbortController()
      background.set(runner, { stopping, done: retryUntilReachable(begin, stopping.signal) })
    }
  },
  stop: async (runner) => {
    const pending = background.get(runner)
    pending?.stopping.abort()
    await pending?.done
    await runner.close()
  },
  health: async (runner): Promise<HealthResult> => {
    let stuck: Awaited<ReturnType<SagaRunner['list']>>
    try {
      stuck = await runner.list(['needs-attention'])
    } catch (error) {
      return whileOptionalDown(databases.get(runner)!.optional, error)
    }
    attentionGauges.get(runner)?.(stuck.length)
    const subscription = runner.subscriptionStatus()
    return {
      status: stuck.length > 0 || subscription?.failing ? 'degraded' : 'up',
      details: {
        counts: await runner.counts(),
        needsAttention: stuck.map((state) => ({ id: state.id, saga: state.name, error: state.error, since: state.updatedAt })),
        ...(subscription ? { subscription } : {}),
      },
    }
  },
})

const attentionGauges = new WeakMap<SagaRunner, (count: number) => void>()
const databases = new WeakMap<SagaRunner, Database>()
const background = new WeakMap<SagaRunner, { stopping: AbortController; done: Promise<void> }>()


/** Tries `begin` with backoff (up to 5 s apart) until it succeeds or `signal` aborts (the app stops). */
async function retryUntilReachable(begin: () => Promise<void>, signal: AbortSignal): Promise<void> {
  const policy = { attempts: Infinity, initialDelay: 200, maxDelay: 5_000, factor: 2, jitter: true }
  for (let attempt = 1; !signal.aborted; attempt++) {
    const waited = await sleep(backoffDelay(policy, attempt), signal).then(() => true, () => false)
    if (!waited) return
    // Any failure is tried again: while the saga runner is not running, health reports the database's error.
    if (await begin().then(() => true, () => false)) return
  }
}
