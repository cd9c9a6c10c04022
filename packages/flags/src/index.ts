/**
 * @plinth/flags: feature flags through OpenFeature's server SDK, with Plinth's provider: flags
 * from the configuration (per environment) and a watched file, targeting rules and stable
 * percentage rollouts, the current scope's subject as evaluation context, and flags bound to a
 * health check that fall back while it is down and return by themselves.
 */
export { FeatureFlags, FlagSubject, featureFlags, type FeatureFlagsOptions } from './component.js'
export { environments, flagTypes, validateFlags, type Condition, type Environment, type Flag, type FlagDefinition, type FlagProblem, type FlagType, type HealthFallback, type TargetingRule } from './definition.js'
export { flagsErrors } from './errors.js'
export { evaluateFlag, rolloutVariant, type Evaluation, type EvaluationReason } from './evaluate.js'
export { FlagFile, invalidFlags, type FlagFileState } from './flag-file.js'
export { HealthFallbacks, type FallbackState } from './health-fallback.js'
export { PlinthFlagProvider, type PlinthFlagProviderOptions } from './provider.js'
// The OpenFeature types users call through FeatureFlags.
export type { Client, EvaluationContext, EvaluationDetails } from '@openfeature/server-sdk'
// Registers the flags' preflight checks (plinth validate) on import.
import './preflight.js'
