/**
 * @plinth/core: the kernel of a Plinth service. A typed container, a lifecycle that starts
 * components in dependency order and concurrently where independent, configuration, logging,
 * graceful shutdown, and the `plinth` command line.
 */
export { App, Application, createApp, type AppOptions, type AppState, type CheckReport, type Endpoint, type MissingProviders, type ShutdownOptions, type StartOptions, type StartResult } from './app.js'
export { ExitCode, defineCommand, run, runCommand, serve, type Command, type CommandContext, type ServeOptions } from './cli.js'
export { CONFIG_EXIT_CODE, defineConfig, loadConfig, type ConfigDefinition, type LoadedConfig } from './config.js'
export { Container, Scope, formatProblems, type ContainerOptions } from './container.js'
export { PlinthError, coreErrors, defineErrors, errorCatalogue, isPlinthError, loadedCatalogues, type ErrorCatalogue, type ErrorEntry, type PlinthErrorCode, type PlinthErrorOptions } from './errors.js'
export { statusOf } from './error-status.js'
export { EventSpy, EventStream, assertNever, type CriticalStep, type LifecycleEvent, type LifecycleEventType, type Phase } from './events.js'
export type { GraphProblem } from './graph.js'
export { Health, HealthChecks, Logger, Metrics } from './kernel-tokens.js'
export { CircuitBreaker, type BreakerListener, type BreakerSnapshot, type BreakerState, type CircuitBreakerOptions } from './breaker.js'
export { LoopMonitor, type LoopMonitorOptions } from './event-loop.js'
export {
  HealthRegistry,
  type HealthSubject,
  type CheckResult,
  type CheckSettings,
  type CheckStatus,
  type HealthCheck,
  type HealthCheckReport,
  type HealthEvent,
  type HealthOptions,
  type HealthReport,
  type ProbeResult,
} from './health.js'
export { listenAddress, listenFailure, urlOf, type AddressDefaults, type ListenAddress } from './listen-address.js'
// Types only: prom-client loads when the Metrics token is first resolved, not with @plinth/core.
export type { Exposition, MetricsOptions, MetricsRegistry } from './metrics.js'
export type { BoundHistogram, HistogramSeries } from './metrics-histogram.js'
export { MetricsServer, metricsServer, type MetricsServerOptions } from './metrics-server.js'
export { instrumentHealth } from './observability.js'
export type { ComponentState, ComponentStatus, LifecycleOptions, StopReport } from './lifecycle.js'
export { componentLogger, createLogger, type LoggingOptions } from './logging.js'
export { AccessLog, AccessShape, type AccessLevel } from './access-log.js'
export { defineModule, type Module, type ModuleDeclaration, type ModuleInitContext } from './module.js'
export { discoverModules, type ModuleCandidate, type ModuleDiscoveryOptions } from './module-discovery.js'
export type { ModuleExclusion, ModuleResolution } from './module-resolution.js'
export type { CheckedModule } from './module-validation.js'
export type { ModuleState, ModuleStatus } from './modules.js'
export type { BootstrapAction, BootstrapActionKind, BootstrapContext, BootstrapHandler, BootstrapReport, BootstrapSettings, RequirementSet } from './bootstrap.js'
export type { BootstrapOptions } from './bootstrap-phase.js'
export type { ArtifactRequirement, BootstrapRequirements, DatabaseRequirement, DirectoryRequirement, FileRequirement } from './bootstrap-requirements.js'
export { registerDatabaseDriver, type DatabaseBootstrapContext, type DatabaseBootstrapDriver } from './bootstrap-databases.js'
// Registers `plinth bootstrap` with the other commands.
import './cli-bootstrap.js'
export {
  component,
  provide,
  type AnyProvider,
  type HealthContext,
  type HealthResult,
  type HealthStatus,
  type Lifetime,
  type MultiProvider,
  type Provider,
  type ProviderOptions,
  type StartContext,
  type StopContext,
} from './provider.js'
export { renderGraph, type GraphFormat } from './render-graph.js'
export { backoffDelay, retry, sleep, type RetryOptions } from './retry.js'
export type { Site } from './site.js'
export {
  accessor,
  optional,
  token,
  type Accessor,
  type AnyToken,
  type Dependency,
  type DependencyMap,
  type MultiToken,
  type Optional,
  type Resolved,
  type ResolvedDeps,
  type Token,
  type TokenDeclaration,
  type ValueOf,
} from './token.js'
export { recordTrace } from './trace.js'
