/**
 * @plinth/cqrs: event sourcing on Plinth. An event store with optimistic concurrency on the
 * app's database (SQLite or PostgreSQL) or Redis Streams, reads by stream and in global order,
 * subscriptions that resume from durable checkpoints, and projections whose checkpoint moves in
 * the transaction that updates their read model.
 */
export type { Appended, AppendedEvent, AppendListener, AppendOptions, AppendOrigin, AppendResult, EventMetadata, ExpectedVersion, NewEvent, ReadAllOptions, ReadStreamOptions, RecordedEvent } from './contract.js'
export { cqrsErrors } from './errors.js'
export { eventStoreMigrations, eventTables } from './schema.js'
export { SqlEventStore, type SqlEventStoreOptions } from './sql-store.js'
export { Subscription, subscribe, type PageHandler, type SubscriptionOptions, type SubscriptionStatus } from './subscription.js'
export { projection, projectionCheckpoint, resetProjection, runProjection, type ProjectionDefinition } from './projection.js'
export { RedisEventStore, type RedisEventStoreOptions } from './redis-store.js'
export { eventSchemas, schemaVersionKey, withUpcasting, type EventSchema } from './upcasting.js'
export { SqlSnapshots, loadAggregate, type AggregateDefinition, type LoadedAggregate, type Snapshot, type SnapshotStore } from './aggregate.js'
export { ProjectionRunner, RunningProjections, eventStore, eventStoreSchema, type EventStoreComponentOptions } from './component.js'
export { EventStore, Projections } from './tokens.js'

// Registered on import, as @plinth/db registers `plinth migrate`: no I/O happens here.
import './projections-command.js'
export { CommandMiddlewares, command, handleCommand, retryOnConflict, runThrough, validation, type CommandContext, type CommandMiddleware, type CommandSender, type CommandType } from './commands.js'
export { handleQuery, query, type QueryDeclaration, type QueryOptions, type QueryRunner, type QueryType } from './queries.js'
export { QueryCache, QueryCacheComponent } from './query-cache.js'
export { saga, type SagaDefinition, type SagaStart, type StepContext, type StepDefinition, type WaitDefinition } from './saga.js'
export { SagaRunner, type SagaRunnerOptions } from './saga-runner.js'
export type { SagaState, SagaStatus, StepState, StepStatus } from './saga-store.js'
export { SagaDefinitions, Sagas } from './saga-component.js'
