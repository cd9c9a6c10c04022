/**
 * Saga declarations: a named list of steps, each an action with the compensation that undoes it,
 * a timeout and retries; a step may instead wait for an event correlated by a key. A saga may
 * start by itself on an event. Declaring checks the shape, so a mistake fails at import, not
 * halfway through a saga.
 */
import type { RecordedEvent } from './contract.js'
import { cqrsErrors } from './errors.js'
import { checkName } from './validate.js'

/** What a step's action and compensation are given. */
export interface StepContext<Input = unknown> {
  readonly sagaId: string
  readonly input: Input
  /** The results of the steps completed before this one, by step name. */
  readonly results: Readonly<Record<string, unknown>>
  /**
   * `sagaId:step` (`sagaId:step:compensate` for a compensation): the same on every attempt and
   * after a restart, so an action can make its effect idempotent with it.
   */
  readonly idempotencyKey: string
  /** 1 for the first attempt. */
  readonly attempt: number
  /** Aborted when the attempt times out. */
  readonly signal: AbortSignal
}

/** A step that waits for an event: `key` from the saga, `correlate` from the event; equal keys match. */
export interface WaitDefinition<Input = unknown> {
  readonly type: string
  key(context: Pick<StepContext<Input>, 'sagaId' | 'input' | 'results'>): string
  correlate(event: RecordedEvent): string | undefined
  /** Ms to wait before the step fails (and the completed steps are compensated). */
  readonly timeout: number
}

export interface StepDefinition<Input = unknown> {
  readonly name: string
  /** Does the step's work; what it returns (plain JSON) is saved as the step's result. */
  readonly action?: (context: StepContext<Input>) => unknown
  /** Undoes the action, given its result; run when a later step fails. */
  readonly compensate?: (context: StepContext<Input> & { readonly result: unknown }) => unknown
  /** Waits for an event instead of acting; its result is the event's data. */
  readonly wait?: WaitDefinition<Input>
  /** Ms per attempt (action or compensation). Default 30 000. */
  readonly timeout?: number
  /** Attempts after the first, for the action and for the compensation. Default 0. */
  readonly retries?: number
  /** Ms before the first retry, doubled after each. Default 100. */
  readonly retryDelay?: number
}

export interface SagaStart<Input> {
  /** The event type that starts the saga; the saga's id is `name:eventId`, so a redelivered event starts nothing twice. */
  readonly type: string
  /** The saga's input, from the event. Default: the event's data. */
  readonly input?: (event: RecordedEvent) => Input
}

export interface SagaDefinition<Input = unknown> {
  readonly name: string
  readonly steps: readonly StepDefinition<Input>[]
  /** Start on an event (the runner follows the store). */
  readonly startOn?: SagaStart<Input>
}

function invalid(message: string): Error {
  return cqrsErrors.create('PLINTH_ERR_SAGA_INVALID', message)
}

function checkPositive(value: unknown, where: string, whole: boolean): void {
  if (value === undefined) return
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || (whole && !Number.isInteger(value))) {
    throw invalid(`${where} must be ${whole ? 'a whole number' : 'a number'} of 0 or more; got ${JSON.stringify(value)}`)
  }
}

/**
 * Declares a saga.
 *
 * @example
 * export const provisionDevice = saga<{ device: string }>({
 *   name: 'provision-device',
 *   steps: [
 *     { name: 'reserve', action: ({ input }) => slots.reserve(input.device), compensate: ({ result }) => slots.release(result), retries: 2 },
 *     { name: 'configure', action: ({ input, idempotencyKey }) => devices.configure(input.device, idempotencyKey), timeout: 5_000 },
 *   ],
 * })
 */
export function saga<Input = unknown>(definition: SagaDefinition<Input>): SagaDefinition<Input> {
  checkName(definition.name, 'saga')
  const where = `saga "${definition.name}"`
  if (!Array.isArray(definition.steps) || definition.steps.length === 0) throw invalid(`${where} has no steps: give it steps: [{ name, action, compensate }]`)
  const seen = new Set<string>()
  definition.steps.forEach((step, index) => {
    const at = `${where}, step ${index + 1}`
    if (typeof step?.name !== 'string' || step.name === '') throw invalid(`${at} has no name`)
    if (seen.has(step.name)) throw invalid(`${where} has two steps named "${step.name}"; step names key their saved results, so they must differ`)
    seen.add(step.name)
    const stepAt = `${where}, step "${step.name}"`
    if ((step.action === undefined) === (step.wait === undefined)) throw invalid(`${stepAt} needs exactly one of action or wait`)
    if (step.wait !== undefined) {
      if (step.compensate !== undefined) throw invalid(`${stepAt} waits for an event and has nothing to compensate; remove compensate`)
      if (typeof step.wait.type !== 'string' || step.wait.type === '') throw invalid(`${stepAt}: wait.type must name an event type`)
      if (typeof step.wait.key !== 'function' || typeof step.wait.correlate !== 'function') throw invalid(`${stepAt}: wait needs key(saga) and correlate(event) functions`)
      checkPositive(step.wait.timeout, `${stepAt}: wait.timeout`, false)
      if (step.wait.timeout === undefined) throw invalid(`${stepAt}: wait.timeout is required (ms), so a saga never waits forever`)
    }
    checkPositive(step.timeout, `${stepAt}: timeout`, false)
    checkPositive(step.retries, `${stepAt}: retries`, true)
    checkPositive(step.retryDelay, `${stepAt}: retryDelay`, false)
  })
  if (definition.startOn !== undefined && (typeof definition.startOn.type !== 'string' || definition.startOn.type === '')) throw invalid(`${where}: startOn.type must name an event type`)
  return definition
}
