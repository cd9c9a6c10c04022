import { Projections, projection } from '@plinth/cqrs'
import { provide } from '@plinth/core'
import type { Kysely } from 'kysely'
import { deviceEvents, evolveDevice, type DeviceSettings, type DeviceState, type DeviceStatus } from './model.js'

/** A device as the read side shows it. */
export interface ProvisionedDevice {
  readonly id: string
  readonly kind: string
  readonly site: string
  readonly status: DeviceStatus
  readonly settings: DeviceSettings | null
  /** The device's stream version: send it back as `expectedVersion` with a settings change. */
  readonly version: number
  readonly updatedAt: string
}

export interface DeviceRow {
  id: string
  kind: string
  site: string
  status: string
  settings: string | null
  version: number
  updated_at: string
}

export interface ProvisioningTables {
  provisioning_devices: DeviceRow
}

export const toDevice = (row: DeviceRow): ProvisionedDevice => ({
  id: row.id,
  kind: row.kind,
  site: row.site,
  status: row.status as DeviceStatus,
  settings: row.settings === null ? null : (JSON.parse(row.settings) as DeviceSettings),
  version: Number(row.version),
  updatedAt: row.updated_at,
})

/** The name queries wait on for read-your-writes. */
export const projectionName = 'provisioned-devices'

/**
 * The read side: each event is folded into the device's row with the aggregate's own
 * `evolveDevice`, so the row and a freshly loaded aggregate cannot disagree.
 */
export const provisionedDevices = projection({
  name: projectionName,
  types: deviceEvents,
  handle: async (event, kysely) => {
    const db = kysely as Kysely<ProvisioningTables>
    const id = event.stream.slice('provisioning-'.length)
    const row = await db.selectFrom('provisioning_devices').selectAll().where('id', '=', id).executeTakeFirst()
    const before: DeviceState = row === undefined ? { status: 'new' } : { status: row.status as DeviceStatus, kind: row.kind, site: row.site, ...(row.settings === null ? {} : { settings: JSON.parse(row.settings) as DeviceSettings }) }
    const after = evolveDevice(before, event)
    const values = {
      kind: after.kind ?? row?.kind ?? '',
      site: after.site ?? row?.site ?? '',
      status: after.status,
      settings: after.settings === undefined ? null : JSON.stringify(after.settings),
      version: event.version,
      updated_at: event.time.toISOString(),
    }
    await db.insertInto('provisioning_devices').values({ id, ...values }).onConflict((oc) => oc.column('id').doUpdateSet(values)).execute()
  },
  reset: async (kysely) => {
    await (kysely as Kysely<ProvisioningTables>).deleteFrom('provisioning_devices').execute()
  },
})

export const provisionedDevicesProjection = provide(Projections, { value: provisionedDevices })
