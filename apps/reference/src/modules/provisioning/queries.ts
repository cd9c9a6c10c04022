import { Database } from '@plinth/db'
import { handleQuery, query } from '@plinth/cqrs'
import { z } from 'zod'
import { NotFound } from '../../errors.js'
import { deviceEvents } from './model.js'
import { projectionName, toDevice, type ProvisionedDevice, type ProvisioningTables } from './projection.js'

const ById = z.strictObject({ id: z.string().min(1) })
const Page = z.strictObject({ limit: z.number().int().min(1).max(1_000) })

/**
 * One provisioned device from the read model. Cached for 10 s, and dropped from the cache by
 * any provisioning event; a caller passing the position its command wrote waits for the projection.
 */
export const ProvisionedDeviceQuery = query('provisioned-device').of<z.infer<typeof ById>, ProvisionedDevice>({ schema: ById, ttl: 10_000, staleOn: deviceEvents, projection: projectionName })

/** Provisioned devices, by id. */
export const ProvisionedDevicesQuery = query('provisioned-devices').of<z.infer<typeof Page>, ProvisionedDevice[]>({ schema: Page, ttl: 10_000, staleOn: deviceEvents, projection: projectionName })

export const provisionedDeviceHandler = handleQuery(ProvisionedDeviceQuery, {
  deps: { db: Database },
  handle: async ({ id }, { db }) => {
    const row = await db.typed<ProvisioningTables>().selectFrom('provisioning_devices').selectAll().where('id', '=', id).executeTakeFirst()
    if (row === undefined) throw new NotFound(`device "${id}" has not been provisioned`)
    return toDevice(row)
  },
})

export const provisionedDevicesHandler = handleQuery(ProvisionedDevicesQuery, {
  deps: { db: Database },
  handle: async ({ limit }, { db }) => {
    const rows = await db.typed<ProvisioningTables>().selectFrom('provisioning_devices').selectAll().orderBy('id').limit(limit).execute()
    return rows.map(toDevice)
  },
})
