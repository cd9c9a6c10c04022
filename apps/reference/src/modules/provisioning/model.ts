import type { RecordedEvent } from '@plinth/cqrs'
import { z } from 'zod'

/** A device's id, as the telemetry module spells it: letters, digits, `-`, `_` and `.`. */
const deviceId = z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'use 1-64 letters, digits, ".", "_" or "-"')

/** How a device samples: every `interval` seconds, reporting temperatures in `unit`. */
export const DeviceSettings = z.strictObject({
  interval: z.number().int().min(1).max(86_400),
  unit: z.enum(['celsius', 'fahrenheit']),
})
export type DeviceSettings = z.infer<typeof DeviceSettings>

/** The body of a provisioning request. */
export const ProvisionInput = z.strictObject({
  id: deviceId,
  kind: z.string().min(1).max(64),
  site: z.string().min(1).max(64),
})
export type ProvisionInput = z.infer<typeof ProvisionInput>

/** A settings change, with the version of the device it was decided on (optimistic concurrency). */
export const SettingsChange = z.strictObject({
  id: deviceId,
  settings: DeviceSettings,
  expectedVersion: z.number().int().min(1),
})
export type SettingsChange = z.infer<typeof SettingsChange>

/** The settings a device starts with, by kind. */
export function defaultSettings(kind: string): DeviceSettings {
  return kind === 'thermometer' ? { interval: 60, unit: 'celsius' } : { interval: 300, unit: 'celsius' }
}

/** Where a device's provisioning stands: `released` devices may be provisioned again. */
export type DeviceStatus = 'new' | 'reserved' | 'configured' | 'active' | 'released'

/** The provisioning events of one device, on stream `provisioning-<id>`. */
export const deviceEvents = ['device.reserved', 'device.configured', 'device.activated', 'device.settings-changed', 'device.deconfigured', 'device.released'] as const

export const streamOf = (id: string) => `provisioning-${id}`

/** The device aggregate's state, folded from its stream. */
export interface DeviceState {
  readonly status: DeviceStatus
  readonly kind?: string
  readonly site?: string
  readonly settings?: DeviceSettings
}

export const initialDevice = (): DeviceState => ({ status: 'new' })

/** One event's effect on the aggregate (the projection applies the same to its row). */
export function evolveDevice(state: DeviceState, event: RecordedEvent): DeviceState {
  const data = event.data as { kind?: string; site?: string; settings?: DeviceSettings }
  switch (event.type) {
    case 'device.reserved':
      return { status: 'reserved', kind: data.kind!, site: data.site! }
    case 'device.configured':
      return { ...state, status: 'configured', settings: data.settings! }
    case 'device.activated':
      return { ...state, status: 'active' }
    case 'device.settings-changed':
      return { ...state, settings: data.settings! }
    case 'device.deconfigured': {
      const { settings: _removed, ...rest } = state
      return { ...rest, status: 'reserved' }
    }
    case 'device.released':
      return { status: 'released' }
    default:
      return state
  }
}
