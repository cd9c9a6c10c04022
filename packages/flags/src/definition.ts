import type { JsonValue } from '@openfeature/server-sdk'

/** The environments Plinth knows (APP_ENV). */
export const environments = ['development', 'staging', 'production'] as const
export type Environment = (typeof environments)[number]

export type FlagType = 'boolean' | 'string' | 'number' | 'object'
export const flagTypes: readonly FlagType[] = ['boolean', 'string', 'number', 'object']

/** A condition on one attribute of the evaluation context (`userId`, `roles`, `tenant`, `environment`, ...). */
export interface Condition {
  readonly attribute: string
  /** The attribute equals this value. */
  readonly equals?: string | number | boolean
  /** The attribute is one of these. */
  readonly in?: readonly (string | number | boolean)[]
  /** The attribute is none of these (an absent attribute is none of them). */
  readonly notIn?: readonly (string | number | boolean)[]
  /** The attribute is a list that includes this value (`roles` includes `admin`). */
  readonly includes?: string | number | boolean
}

/** A targeting rule: the first whose conditions all hold picks its variant. */
export interface TargetingRule {
  readonly when: Condition | readonly Condition[]
  readonly variant: string
}

/** A flag bound to a health check: while the check is down (or its circuit open) the flag takes `variant`. */
export interface HealthFallback {
  readonly check: string
  readonly variant: string
  /** Statuses that count as unhealthy besides an open circuit. Default ['down']. */
  readonly when?: readonly ('down' | 'degraded')[]
}

/**
 * One feature flag. Evaluation order: disabled (the caller's default) -> health fallback ->
 * targeting rules (first match) -> percentage rollout (stable per targetingKey) -> the
 * environment's variant -> defaultVariant.
 */
export interface FlagDefinition {
  readonly type: FlagType
  /** Variant name -> value of the flag's type. A boolean flag may leave it out for { on: true, off: false }. */
  readonly variants?: Readonly<Record<string, JsonValue>>
  readonly defaultVariant: string
  /** The variant per environment, over defaultVariant: { production: 'off' }. */
  readonly environments?: Partial<Record<Environment, string>>
  readonly rules?: readonly TargetingRule[]
  /** Variant -> percentage (summing to 100), assigned by a hash of the flag key and the targeting key. */
  readonly rollout?: Readonly<Record<string, number>>
  readonly fallback?: HealthFallback
  readonly disabled?: boolean
  readonly description?: string
}

/** A flag once validated: variants filled in. */
export interface Flag extends FlagDefinition {
  readonly key: string
  readonly variants: Readonly<Record<string, JsonValue>>
}

/** One problem with a flag definition: where (`flags.ai.remote.type`, or the file's), and what. */
export interface FlagProblem {
  readonly path: string
  readonly message: string
}

const flagFields = new Set(['type', 'variants', 'defaultVariant', 'environments', 'rules', 'rollout', 'fallback', 'disabled', 'description'])
const conditionOperators = ['equals', 'in', 'notIn', 'includes'] as const
const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value)
const scalar = (value: unknown) => typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean'

function matchesType(type: FlagType, value: unknown): boolean {
  if (type === 'object') return isObject(value) || Array.isArray(value)
  return typeof value === type
}

/**
 * Validates flag definitions (a map of flag key -> definition), reporting every problem at
 * once with the path of the field; `where` prefixes each path (`flags`, `flags.json`).
 *
 * @example
 * const { flags, problems } = validateFlags({ 'ai.remote': { type: 'boolean', defaultVariant: 'on' } }, 'flags')
 * problems // []
 */
export function validateFlags(raw: unknown, where: string): { flags: Map<string, Flag>; problems: FlagProblem[] } {
  const flags = new Map<string, Flag>()
  const problems: FlagProblem[] = []
  if (!isObject(raw)) {
    problems.push({ path: where, message: `expected an object of flag key -> definition; got ${Array.isArray(raw) ? 'an array' : typeof raw}` })
    return { flags, problems }
  }
  for (const [key, definition] of flatten(raw)) {
    const at = `${where}.${key}`
    const before = problems.length
    const problem = (field: string, message: string) => problems.push({ path: field === '' ? at : `${at}.${field}`, message })
    if (!/^[A-Za-z0-9][\w.-]*$/.test(key)) problem('', 'a flag key is letters, digits, dots, dashes and underscores')
    if (!isObject(definition)) {
      problem('', 'expected a flag definition object')
      continue
    }
    for (const field of Object.keys(definition)) if (!flagFields.has(field)) problem(field, `unknown field; a flag has ${[...flagFields].join(', ')}`)
    const type = definition.type as FlagType
    if (!flagTypes.includes(type)) {
      problem('type', definition.type === undefined ? `the type is missing; expected one of ${flagTypes.join(', ')}` : `unknown flag type ${JSON.stringify(definition.type)}; expected one of ${flagTypes.join(', ')}`)
      continue
    }
    let variants = definition.variants
    if (variants === undefined && type === 'boolean') variants = { on: true, off: false }
    if (!isObject(variants) || Object.keys(variants).length === 0) {
      problem('variants', 'expected an object of variant name -> value with at least one variant')
      continue
    }
    for (const [name, value] of Object.entries(variants)) {
      if (!matchesType(type, value)) problem(`variants.${name}`, `expected a ${type}, like the flag's type; got ${JSON.stringify(value)}`)
    }
    const names = Object.keys(variants)
    const variant = (field: string, value: unknown) => {
      if (typeof value !== 'string' || !names.includes(value)) problem(field, `${JSON.stringify(value)} is not a variant of the flag; its variants are ${names.join(', ')}`)
    }
    variant('defaultVariant', definition.defaultVariant)
    if (definition.environments !== undefined) {
      if (!isObject(definition.environments)) problem('environments', 'expected an object of environment -> variant')
      else
        for (const [env, name] of Object.entries(definition.environments)) {
          if (!(environments as readonly string[]).includes(env)) problem(`environments.${env}`, `unknown environment; expected ${environments.join(', ')}`)
          else variant(`environments.${env}`, name)
        }
    }
    if (definition.rules !== undefined) {
      if (!Array.isArray(definition.rules)) problem('rules', 'expected a list of { when, variant }')
      else
        definition.rules.forEach((rule: unknown, index) => {
          if (!isObject(rule)) return problem(`rules[${index}]`, 'expected { when, variant }')
          variant(`rules[${index}].variant`, rule.variant)
          const conditions = Array.isArray(rule.when) ? rule.when : [rule.when]
          conditions.forEach((condition: unknown, c) => {
            const path = Array.isArray(rule.when) ? `rules[${index}].when[${c}]` : `rules[${index}].when`
            if (!isObject(condition) || typeof condition.attribute !== 'string' || condition.attribute === '') return problem(path, 'expected { attribute, equals | in | notIn | includes }')
            const ops = conditionOperators.filter((op) => condition[op] !== undefined)
            if (ops.length !== 1) return problem(path, `give exactly one of ${conditionOperators.join(', ')}; got ${ops.length === 0 ? 'none' : ops.join(', ')}`)
            const op = ops[0]!
            const operand = condition[op]
            if ((op === 'in' || op === 'notIn') && !(Array.isArray(operand) && operand.every(scalar))) problem(`${path}.${op}`, 'expected a list of strings, numbers or booleans')
            if ((op === 'equals' || op === 'includes') && !scalar(operand)) problem(`${path}.${op}`, 'expected a string, number or boolean')
          })
        })
    }
    if (definition.rollout !== undefined) {
      if (!isObject(definition.rollout)) problem('rollout', 'expected an object of variant -> percentage')
      else {
        let total = 0
        for (const [name, weight] of Object.entries(definition.rollout)) {
          variant(`rollout.${name}`, name)
          if (typeof weight !== 'number' || !(weight >= 0 && weight <= 100)) problem(`rollout.${name}`, `expected a percentage from 0 to 100; got ${JSON.stringify(weight)}`)
          else total += weight
        }
        if (Math.abs(total - 100) > 1e-9) problem('rollout', `the percentages add up to ${total}, not 100`)
      }
    }
    if (definition.fallback !== undefined) {
      const fallback = definition.fallback
      if (!isObject(fallback) || typeof fallback.check !== 'string' || fallback.check === '') problem('fallback', 'expected { check: "<health check name>", variant }')
      else {
        variant('fallback.variant', fallback.variant)
        if (fallback.when !== undefined && !(Array.isArray(fallback.when) && fallback.when.every((s) => s === 'down' || s === 'degraded'))) problem('fallback.when', 'expected a list of "down" and "degraded"')
      }
    }
    if (definition.disabled !== undefined && typeof definition.disabled !== 'boolean') problem('disabled', 'expected true or false')
    if (definition.description !== undefined && typeof definition.description !== 'string') problem('description', 'expected a string')
    if (problems.length === before) flags.set(key, { ...(definition as unknown as FlagDefinition), key, variants: variants as Record<string, JsonValue> })
  }
  return { flags, problems }
}

/**
 * Flag keys with dots may be written nested, as configuration files do (`ai: { remote: {...} }`
 * is the flag `ai.remote`): an object with no `type` whose values are all objects is a group.
 */
function flatten(raw: Record<string, unknown>, prefix = ''): Array<[string, unknown]> {
  return Object.entries(raw).flatMap(([key, value]): Array<[string, unknown]> => {
    const group = isObject(value) && !('type' in value) && Object.keys(value).length > 0 && Object.values(value).every(isObject)
    return group ? flatten(value, `${prefix}${key}.`) : [[`${prefix}${key}`, value]]
  })
}
