import { provide } from '@plinth/core'
import { EventStore, SagaDefinitions, cqrsErrors, saga, type AppendResult, type NewEvent } from '@plinth/cqrs'
import { AppConfig } from '../../config.js'
import { defaultSettings, streamOf, type ProvisionInput } from './model.js'

/** What the saga is started with: the request, and the device's version it was decided on. */
export interface ProvisioningInput extends ProvisionInput {
  /** 0 for a new device, the stream's version for a released one provisioned again. */
  readonly version: number
}

/** The saga's name, for `GET /api/v1/provisioning/sagas/:id` and `plinth_saga_transitions_total`. */
export const provisionDeviceSaga = 'provision-device'

/**
 * Appends one event whose id is the step's idempotency key: a step run again after a crash
 * finds its event already written (a duplicate id) and counts it as done instead of writing twice.
 */
async function once(events: EventStore, stream: string, event: NewEvent & { id: string }, expectedVersion?: number): Promise<Partial<AppendResult>> {
  try {
    return await events.append(stream, [event], expectedVersion === undefined ? {} : { expectedVersion: expectedVersion === 0 ? 'no-stream' : expectedVersion })
  } catch (error) {
    if (cqrsErrors.is(error, 'PLINTH_ERR_EVENTS_DUPLICATE_ID')) return {}
    // With an expected version the version check comes first: the event after it may be ours.
    if (cqrsErrors.is(error, 'PLINTH_ERR_EVENTS_CONFLICT') && expectedVersion !== undefined) {
      const [next] = await events.readStream(stream, { from: expectedVersion + 1, limit: 1 })
      if (next?.id === event.id) return {}
    }
    throw error
  }
}

/**
 * Provisioning a device, as a saga: reserve the id at a site, configure it with its kind's
 * default settings, then notify the operator's webhook (PROVISIONING_WEBHOOK_URL) and activate
 * it. When notifying fails on every attempt, the configuration is removed and the reservation
 * released, in that order, so no half-provisioned device is left. Each step's state is saved in
 * `plinth_sagas`, so a process killed midway resumes at its next start.
 */
export const provisioningSaga = provide(SagaDefinitions, {
  deps: { events: EventStore, config: AppConfig },
  create: ({ events, config }) =>
    saga<ProvisioningInput>({
      name: provisionDeviceSaga,
      steps: [
        {
          name: 'reserve',
          // The expected version makes two concurrent provisionings of one id meet here: one loses with a conflict.
          action: ({ input, idempotencyKey }) => once(events, streamOf(input.id), { id: idempotencyKey, type: 'device.reserved', data: { kind: input.kind, site: input.site } }, input.version),
          compensate: ({ input, idempotencyKey }) => once(events, streamOf(input.id), { id: idempotencyKey, type: 'device.released', data: { reason: 'provisioning failed' } }),
        },
        {
          name: 'configure',
          action: ({ input, idempotencyKey }) => once(events, streamOf(input.id), { id: idempotencyKey, type: 'device.configured', data: { settings: defaultSettings(input.kind) } }),
          compensate: ({ input, idempotencyKey }) => once(events, streamOf(input.id), { id: idempotencyKey, type: 'device.deconfigured', data: {} }),
        },
        {
          name: 'notify',
          timeout: config.provisioning.notifyTimeout,
          retries: 2,
          retryDelay: 50,
          action: async ({ input, idempotencyKey, signal }) => {
            const url = config.provisioning.webhookUrl
            if (url !== undefined) {
              // The key is the same on every attempt, so the receiver can drop a repeated announcement.
              const response = await fetch(url, {
                method: 'POST',
                headers: { 'content-type': 'application/json', 'idempotency-key': idempotencyKey },
                body: JSON.stringify({ event: 'device.provisioned', device: input.id, kind: input.kind, site: input.site }),
                signal,
              })
              if (!response.ok) throw new Error(`the provisioning webhook answered ${response.status} ${response.statusText}`)
            }
            return once(events, streamOf(input.id), { id: idempotencyKey, type: 'device.activated', data: {} })
          },
        },
      ],
    }),
})
