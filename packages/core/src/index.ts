/**
 * @plinth/core: the kernel of a Plinth service. A typed container, a lifecycle that starts
 * components in dependency order and concurrently where independent, configuration, logging,
 * graceful shutdown, and the `plinth` command line.
 */
export { createApp } from './app/create-app.js'
export { App, Application, type AppOptions, type AppState, type CheckReport, type Endpoint, type MissingProviders, type ShutdownOptions, type StartOptions, type StartResult } from './app/app.js'
export { ExitCode, defineCommand, run, runCommand, serve, type Command, type CommandContext, type ServeOptions } from './cli/cli.js'
export { CONFIG_EXIT_CODE, defineConfig, loadConfig, type ConfigDefinition, type ConfigSource, type ConfigSourceContext, type LoadedConfig } from './config/config.js'
export { callerCorrelation, currentCausation, withCorrelation, type CausalContext } from './causation/causation.js'
export { Container, Scope, formatProblems, type ContainerOptions } from './container/container.js'
export { PlinthError, coreErrors, defineErrors, describe as describeError, errorCatalogue, errorFields, isOperational, isPlinthError, loadedCatalogues, reportError, type ErrorCatalogue, type ErrorEntry, type PlinthErrorCode, type PlinthErrorOptions } from './errors.js'
export { statusOf } from './errors/status.js'
export { EventSpy, EventStream, assertNever, type CriticalStep, type LifecycleEvent, type LifecycleEventType, type Phase } from './lifecycle/events.js'
export type { GraphProblem } from './container/graph.js'
export { Health, HealthChecks, Logger, Metrics } from './app/kernel-tokens.js'
export { CircuitBreaker, type BreakerListener, type BreakerSnapshot, type BreakerState, type CircuitBreakerOptions } from './health/breaker.js'
export { logBreakerChanges, type BreakerLogOptions } from './health/breaker-log.js'
export { LoopMonitor, type LoopMonitorOptions } from './health/event-loop.js'
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
} from './health/health.js'
export { dialHost, listenAddress, listenFailure, urlOf, type AddressDefaults, type ListenAddress, type ListeningApp } from './server/listen-address.js'
export { bindNetServer, listenOn, type ListenerSpec } from './server/listener.js'
export { declaredListener, listensOn, type DeclaredListener } from './server/port-check.js'
// Types only: prom-client loads when the Metrics token is first resolved, not with @plinth/core.
export type { Exposition, MetricsOptions, MetricsRegistry } from './metrics/metrics.js'
export type { BoundHistogram, HistogramSeries } from './metrics/histogram.js'
export { MetricsServer, metricsServer, type MetricsServerOptions } from './metrics/server.js'
export { metricsEndpointOf, servesMetrics } from './metrics/endpoints.js'
export { instrumentHealth } from './health/observability.js'
export type { ComponentState, ComponentStatus, LifecycleOptions, StopReport } from './lifecycle/lifecycle.js'
export { componentLogger, createLogger, type LoggingOptions } from './logging/logging.js'
export { defineModule, type Module, type ModuleDeclaration, type ModuleInitContext } from './modules/module.js'
export { discoverModules, moduleFiles, type ModuleCandidate, type ModuleDiscoveryOptions } from './modules/discovery.js'
export { registerBundledModules } from './modules/bundled.js'
export { lazyRequire } from './modules/lazy-require.js'
export type { ModuleExclusion, ModuleResolution } from './modules/resolution.js'
export type { CheckedModule } from './modules/validation.js'
export type { ModuleState, ModuleStatus } from './modules/registry.js'
export type { BootstrapAction, BootstrapActionKind, BootstrapContext, BootstrapHandler, BootstrapReport, BootstrapSettings, RequirementSet } from './bootstrap/bootstrap.js'
export type { BootstrapOptions } from './bootstrap/phase.js'
export type { ArtifactRequirement, BootstrapRequirements, DatabaseRequirement, DirectoryRequirement, FileRequirement } from './bootstrap/requirements.js'
export { registerDatabaseDriver, type DatabaseBootstrapContext, type DatabaseBootstrapDriver } from './bootstrap/databases.js'
// Registers `plinth bootstrap` and `plinth validate` with the other commands.
import './cli/bootstrap-command.js'
import './cli/validate-command.js'
export {
  PREFLIGHT_CATEGORIES,
  PreflightChecks,
  definePreflight,
  preflightCheck,
  type PreflightCategory,
  type PreflightCheck,
  type PreflightContext,
  type PreflightContributor,
  type PreflightOutcome,
  type PreflightSetup,
  type PreflightStatus,
} from './preflight/check.js'
export type { PreflightOptions, PreflightSettings } from './preflight/preflight.js'
export type { PreflightReport, PreflightResult } from './preflight/runner.js'
export { formatPreflight } from './preflight/report.js'
export { externalService, type ExternalServiceOptions } from './preflight/external.js'
export { isPlaceholder } from './preflight/environment.js'
export type { SystemThresholds } from './preflight/system.js'
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
} from './container/provider.js'
export { renderGraph, type GraphFormat } from './container/render-graph.js'
export { startCache, type StartCache } from './build/start-cache.js'
export { backoffDelay, retry, sleep, type RetryOptions } from './lifecycle/retry.js'
export type { Site } from './container/site.js'
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
} from './container/token.js'
export { recordTrace } from './lifecycle/trace.js'
