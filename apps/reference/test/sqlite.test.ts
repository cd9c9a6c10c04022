/** Every protocol of the modules, on the embedded default: SQLite in the service's data directory. */
import { describe } from 'vitest'
import { describeConversation } from './conversation.case.js'
import { describeProvisioning } from './provisioning.case.js'
import { startService } from './service.js'
import { describeTelemetry } from './telemetry.case.js'

describe('on SQLite', () => {
  describeTelemetry(() => startService())
  describeConversation(() => startService())
  describeProvisioning((env) => startService(env))
})
