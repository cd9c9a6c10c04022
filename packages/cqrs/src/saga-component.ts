/**
 * The saga runner as a component: it resumes what a previous process left, follows the store for
 * event-driven sagas, and reports sagas that need attention in health and metrics.
 */
import { Metrics, component, optional, token, type HealthResult } from '@plinth/core'
import { Database } from '@plinth/db'
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
    return runner
  },
  start: async (runner) => {
    await runner.resume()
    await runner.listen()
  },
  stop: (runner) => runner.close(),
  health: async (runner): Promise<HealthResult> => {
    const stuck = await runner.list(['needs-attention'])
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
