/**
 * Device registration over gRPC, GraphQL and WebSocket, each guarded by the devices:write
 * permission as the REST route is (reading stays open). The token travels the way each
 * protocol carries credentials: gRPC metadata, the GraphQL request's Authorization header (or
 * graphql-ws connectionParams), the WebSocket connection's `auth.authenticate` message.
 */
import { AuthGuard } from '@plinth/auth'
import { component, provide } from '@plinth/core'
import { GraphQLSchemaParts, graphqlSchema } from '@plinth/graphql'
import { grpcService, type GrpcImplementation } from '@plinth/grpc'
import { WsHandlers, wsHandler } from '@plinth/ws'
import { telemetry } from './components.js'
import type { Device } from './model.js'

const toMessage = (device: Device) => ({ id: device.id, kind: device.kind, metadata: device.metadata, registered_at: device.registeredAt })

/** plinth.telemetry.v1.Devices: RegisterDevice, with the token in the call's metadata. */
export const devicesGrpcImplementation = component('telemetry-devices-grpc', {
  deps: { telemetry, guard: AuthGuard },
  create: ({ telemetry, guard }): GrpcImplementation => ({
    RegisterDevice: guard.grpc('devices:write', async (request: { id: string; kind: string; metadata: Record<string, string> }) => toMessage(await telemetry.registerDevice(request))),
  }),
})

export const devicesGrpc = grpcService({
  proto: new URL('../../../proto/plinth/telemetry/v1/devices.proto', import.meta.url),
  service: 'plinth.telemetry.v1.Devices',
  implementation: devicesGrpcImplementation,
  checks: ['database'],
})

/** `mutation { registerDevice(id, kind, metadata) { id } }`, with `Authorization: Bearer <token>`. */
export const devicesGraphql = provide(GraphQLSchemaParts, {
  deps: { telemetry, guard: AuthGuard },
  create: ({ telemetry, guard }) =>
    graphqlSchema({
      typeDefs: /* GraphQL */ `
        input AttributeInput {
          key: String!
          value: String!
        }
        type Mutation {
          "Registers a device (needs the devices:write permission); it gets the default rules of its kind."
          registerDevice(id: ID!, kind: String!, metadata: [AttributeInput!]): Device!
        }
      `,
      resolvers: {
        Mutation: {
          registerDevice: guard.graphql('devices:write', (_root: unknown, args: { id: string; kind: string; metadata?: Array<{ key: string; value: string }> | null }) =>
            telemetry.registerDevice({ id: args.id, kind: args.kind, metadata: Object.fromEntries((args.metadata ?? []).map(({ key, value }) => [key, value])) }),
          ),
        },
      },
    }),
})

/** `{ "type": "telemetry.registerDevice", "data": { "id", "kind", "metadata" } }` on an authenticated connection. */
export const devicesWs = provide(WsHandlers, {
  deps: { telemetry, guard: AuthGuard },
  create: ({ telemetry, guard }) => wsHandler('telemetry.registerDevice', { handle: guard.ws('devices:write', (data: unknown) => telemetry.registerDevice(data)) }),
})
