import { createHash } from 'node:crypto'
import type { EvaluationContext, JsonValue } from '@openfeature/server-sdk'
import type { Condition, Flag } from './definition.js'

/** Why a flag took its variant: OpenFeature's standard reasons, and FALLBACK for a health fallback. */
export type EvaluationReason = 'STATIC' | 'TARGETING_MATCH' | 'SPLIT' | 'DISABLED' | 'FALLBACK'

export interface Evaluation {
  /** Undefined when the flag is disabled: the caller's default applies. */
  readonly variant: string | undefined
  readonly value: JsonValue | undefined
  readonly reason: EvaluationReason
}

/**
 * Picks a flag's variant for a context: disabled -> health fallback -> rules -> rollout ->
 * the environment's variant -> defaultVariant. Pure: the same flag, context and fallback
 * state give the same answer, on every instance.
 *
 * @example
 * evaluateFlag(flag, { targetingKey: 'user-7', roles: ['beta'] }, 'production', false) // { variant: 'on', value: true, reason: 'TARGETING_MATCH' }
 */
export function evaluateFlag(flag: Flag, context: EvaluationContext, environment: string, fallingBack: boolean): Evaluation {
  const pick = (variant: string, reason: EvaluationReason): Evaluation => ({ variant, value: flag.variants[variant], reason })
  if (flag.disabled) return { variant: undefined, value: undefined, reason: 'DISABLED' }
  if (fallingBack && flag.fallback) return pick(flag.fallback.variant, 'FALLBACK')
  const scoped: Record<string, unknown> = { environment, ...context }
  for (const rule of flag.rules ?? []) {
    const conditions = Array.isArray(rule.when) ? rule.when : [rule.when as Condition]
    if (conditions.every((condition) => holds(condition, scoped[condition.attribute]))) return pick(rule.variant, 'TARGETING_MATCH')
  }
  if (flag.rollout && typeof context.targetingKey === 'string' && context.targetingKey !== '') {
    const variant = rolloutVariant(flag.key, context.targetingKey, flag.rollout)
    if (variant !== undefined) return pick(variant, 'SPLIT')
  }
  const forEnvironment = flag.environments?.[environment as keyof NonNullable<Flag['environments']>]
  return pick(forEnvironment ?? flag.defaultVariant, 'STATIC')
}

/**
 * The rollout variant of a targeting key: a SHA-256 of `<flag>:<key>` read as a bucket of
 * 0-9999, so that a user keeps their variant across evaluations, restarts and instances, and
 * raising a percentage only moves users into the growing variant.
 *
 * @example
 * rolloutVariant('new-checkout', 'user-7', { on: 10, off: 90 }) // 'on' for about 10% of users
 */
export function rolloutVariant(flagKey: string, targetingKey: string, weights: Readonly<Record<string, number>>): string | undefined {
  const digest = createHash('sha256').update(`${flagKey}:${targetingKey}`).digest()
  const bucket = digest.readUInt32BE(0) % 10_000
  let upper = 0
  for (const [variant, weight] of Object.entries(weights)) {
    upper += weight * 100
    if (bucket < upper) return variant
  }
  return undefined
}

function holds(condition: Condition, value: unknown): boolean {
  if (condition.equals !== undefined) return value === condition.equals
  if (condition.in !== undefined) return condition.in.includes(value as string)
  if (condition.notIn !== undefined) return !condition.notIn.includes(value as string)
  if (condition.includes !== undefined) return Array.isArray(value) && value.includes(condition.includes)
  return false
}
