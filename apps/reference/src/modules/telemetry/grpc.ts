import { component } from '@plinth/core'
import { grpcService, type GrpcImplementation } from '@plinth/grpc'
import { AppConfig } from '../../config.js'
import { InvalidInput } from '../../errors.js'
import { telemetry } from './components.js'

/** A reading as proto-loader decodes it: absent fields are their defaults ('' and 0). */
interface ReadingMessage {
  device: string
  metric: string
  value: number
  timestamp: string
}

/** The implementation of plinth.telemetry.v1.Telemetry: one function per RPC. */
export const telemetryGrpcImplementation = component('telemetry-grpc', {
  deps: { telemetry, config: AppConfig },
  create: ({ telemetry, config }): GrpcImplementation => ({
    // Client streaming: the requests arrive as an async iterable; the return value is the one response.
    IngestReadings: async (messages: AsyncIterable<ReadingMessage>) => {
      const readings: unknown[] = []
      for await (const { device, metric, value, timestamp } of messages) {
        if (readings.length === config.telemetry.maxBatch) {
          throw new InvalidInput([{ path: ['readings'], message: `a stream carries at most ${config.telemetry.maxBatch} readings` }], 'the stream', 'nothing was stored')
        }
        readings.push({ device, metric, value, ...(timestamp === '' ? {} : { timestamp }) })
      }
      return telemetry.ingestBatch(readings, 'grpc')
    },
  }),
})

/**
 * The gRPC service, from the module's .proto (outside src/, at the same relative path from
 * src/ and dist/). Its grpc.health.v1 status follows the app's readiness and the database's
 * health check.
 */
export const telemetryGrpc = grpcService({
  proto: new URL('../../../proto/plinth/telemetry/v1/telemetry.proto', import.meta.url),
  service: 'plinth.telemetry.v1.Telemetry',
  implementation: telemetryGrpcImplementation,
  checks: ['database'],
})
