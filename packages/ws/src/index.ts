/**
 * @plinth/ws: Plinth's WebSocket server. A JSON message protocol with typed handlers that
 * modules contribute, heartbeats that drop dead peers, topics that span instances through a
 * pub/sub backend, per-connection rate limits, and a drain that closes clients with 1001.
 */
export { WsBroadcast, wsBroadcast, wsServer, type WsBroadcaster } from './component.js'
export { WsConnection } from './connection.js'
export { wsErrors } from './errors.js'
export type { TopicGuard } from './dispatch.js'
export { toWireError } from './error-mapping.js'
export { WsHandlers, wsHandler, type MessageSchema, type MessageSchemaResult, type WsContext, type WsHandler } from './handlers.js'
export { wireErrorCodes, type ClientMessage, type ServerMessage, type TopicRequest, type WireError, type WireErrorCode } from './protocol.js'
export { MemoryPubSub, WsPubSub, type PubSub } from './pubsub.js'
export type { RateLimit } from './rate-limit.js'
export { WsServer, channelPrefix, type WsServerDeps, type WsServerOptions } from './server.js'

// Registers the WebSocket server's preflight checks (plinth validate) on import.
import './preflight.js'
