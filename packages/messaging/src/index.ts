/** @plinth/messaging: an event bus with one delivery contract on memory, Redis Streams and NATS JetStream, with a dead-letter queue. */
export type {
  BackoffOptions,
  Broker,
  BrokerConsumer,
  DeadLetter,
  DeadLetterQueue,
  DeadLetterStore,
  Delivery,
  Handler,
  Headers,
  Message,
  EventBus,
  MessageOf,
  Published,
  PublishOptions,
  StoredDeadLetter,
  SubscribeOptions,
  Subscription,
  Topic,
  WireMessage,
} from './contract.js'
export { Bus, type BusOptions, type BusState } from './bus.js'
export { brokerFor, chooseBroker, MessageBus, messaging, type BrokerChoice, type MessagingOptions } from './component.js'
export { busMetrics } from './metrics.js'
export { MemoryDedupe, type DedupeStore } from './dedupe.js'
// The causal context lives in the kernel, where the servers that start work set it; re-exported here where publishers look for it.
export { currentCausation, withCorrelation, type CausalContext } from '@plinth/core'
export { correlateRequests, type CorrelationPlugin } from './http-correlation.js'
export { messagingErrors } from './errors.js'
export { MemoryBroker, type MemoryBrokerOptions } from './memory.js'
export { JetStreamBroker, type JetStreamBrokerOptions } from './jetstream.js'
export { RedisBroker, type RedisBrokerOptions } from './redis-streams.js'
export { maskUrl } from './url.js'
export type { BusObserver } from './observer.js'
export { backoffDelay } from './runner.js'
export { topic } from './topic.js'
export { databaseDedupe, type DatabaseDedupeOptions } from './dedupe-database.js'
export { BusPubSub, type ChannelPubSub } from './pubsub.js'
export { Announcements, instanceGroup, originHeader, type AnnouncementOrigin } from './broadcast.js'

// Registered on import, like @plinth/db's `plinth migrate`: importing @plinth/messaging is how an app gets `plinth dlq`.
import './dlq-command.js'
// Registers the bus's preflight check (plinth validate) on import.
import './preflight.js'
