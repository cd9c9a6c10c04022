import { EventStore, SagaDefinitions, Sagas, command, handleCommand, loadAggregate, type SagaState } from '@plinth/cqrs'
import { Conflict, NotFound } from '../../errors.js'
import { ProvisionInput, SettingsChange, evolveDevice, initialDevice, streamOf } from './model.js'
import { provisionDeviceSaga, type ProvisioningInput } from './saga.js'

/** What a command returns: the global position it wrote up to, for read-your-writes (`?after=`). */
export interface Written {
  readonly position: number
}

/** Provision a device: runs the provisioning saga to its end (completed, or compensated). */
export const ProvisionDevice = command('provision-device').of<ProvisionInput, Written & { saga: SagaState }>({ schema: ProvisionInput })

/** Change a device's settings, decided on the version the caller read. */
export const ChangeDeviceSettings = command('change-device-settings').of<SettingsChange, Written & { version: number }>({ schema: SettingsChange })

const device = { initial: initialDevice, evolve: evolveDevice }

export const provisionDevice = handleCommand(ProvisionDevice, {
  deps: { events: EventStore, sagas: Sagas, definitions: SagaDefinitions },
  handle: async (input, { events, sagas, definitions }) => {
    const { state, version } = await loadAggregate(events, streamOf(input.id), device)
    if (state.status !== 'new' && state.status !== 'released') throw new Conflict(`device "${input.id}" is already provisioned (${state.status}); it can be provisioned again once released`)
    const definition = definitions.find((s) => s.name === provisionDeviceSaga)!
    const saga = await sagas.start<ProvisioningInput>(definition, { ...input, version }, { id: `provision:${input.id}:${version}` })
    // Every event the saga wrote (compensations included) is at or before the head.
    return { saga, position: await events.headPosition() }
  },
})

export const changeDeviceSettings = handleCommand(ChangeDeviceSettings, {
  deps: { events: EventStore },
  handle: async (input, { events }) => {
    const { state } = await loadAggregate(events, streamOf(input.id), device)
    if (state.status === 'new' || state.status === 'released') throw new NotFound(`device "${input.id}" is not provisioned`)
    if (state.status !== 'active') throw new Conflict(`device "${input.id}" is ${state.status}; its settings can change once it is active`)
    // The version the caller read, not the one just loaded: a change decided on stale settings is refused (409).
    const written = await events.append(streamOf(input.id), [{ type: 'device.settings-changed', data: { settings: input.settings } }], { expectedVersion: input.expectedVersion })
    return { version: written.version, position: written.position }
  },
})
