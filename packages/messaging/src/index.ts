/** @plinth/messaging: an event bus on memory, Redis Streams and NATS JetStream with a dead-letter queue; event store, command and query buses, sagas. */
export {}
