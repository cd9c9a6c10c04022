/** Every protocol of the modules, on the embedded default: SQLite in the service's data directory. */
import { describe, expect, it } from 'vitest'
import { describeConversation } from './conversation.case.js'
import { describeProvisioning } from './provisioning.case.js'
import { startService, unique } from './service.js'
import { describeTelemetry } from './telemetry.case.js'

describe('on SQLite', () => {
  describeTelemetry(() => startService())
  describeConversation(() => startService())
  describeProvisioning((env) => startService(env))

  it('outside development, on a fresh data folder, applies its migrations at start: ready means the tables are there', async () => {
    await using service = await startService({ APP_ENV: 'staging' })
    expect((await service.rest('GET', '/health/ready')).status).toBe(200)
    expect((await service.rest('POST', '/api/v1/telemetry/devices', { id: unique('thermo'), kind: 'thermometer' })).status).toBe(201)
  })
})
