/**
 * Runs sagas step by step, saving each step's state before and after its action, so a process
 * killed at any point resumes where the saved state says:
 *
 * - a step saved `done` is never run again (its result is read back from the row);
 * - a step saved `running` was cut short with its outcome unknown, so its action runs again with
 *   the same idempotency key (at least once: the action must be idempotent on that key);
 * - once a step fails, every step saved `done` is compensated in reverse order; a compensation
 *   saved `compensating` runs again (also idempotent on its key), one saved `compensated` never;
 * - a compensation that fails on every attempt stops the saga in `needs-attention`, with the error.
 */
import { randomUUID } from 'node:crypto'
import type { EventStore, RecordedEvent } from './contract.js'
import { cqrsErrors } from './errors.js'
import type { SagaDefinition, StepContext, StepDefinition } from './saga.js'
import { SagaStore, type SagaState, type SagaStatus, type StepState } from './saga-store.js'
import { subscribe, type Subscription } from './subscription.js'

export interface SagaRunnerOptions {
  readonly sagas: readonly SagaDefinition<any>[]
  /** Needed for event-driven sagas and wait steps: the runner follows it (`listen()`). */
  readonly store?: EventStore
  /** How often waiting sagas are checked for a passed deadline. Default 1 000 ms. */
  readonly timerInterval?: number
  /**
   * Where the runner's subscription (checkpoint `sagas`) starts when it has never saved a
   * checkpoint: `'end'` (the default) starts sagas only for events appended from now on, so
   * adding an event-driven saga to an app with history does not start one per old event.
   */
  readonly from?: 'start' | 'end'
  /** Called on every change of a saga's status (metrics, logs). */
  readonly onStatus?: (state: SagaState) => void
}

const finished: readonly SagaStatus[] = ['completed', 'compensated', 'needs-attention', 'resolved']

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}

/** Thrown inside a drive whose copy of the saga another process saved first: that process drives it now. */
class Superseded extends Error {}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** One attempt with a deadline: the signal is aborted and the attempt rejected when it passes. */
async function attempt<T>(work: (signal: AbortSignal) => T, timeout: number, what: string): Promise<Awaited<T>> {
  const controller = new AbortController()
  let timer: NodeJS.Timeout | undefined
  try {
    return await Promise.race([
      Promise.resolve().then(() => work(controller.signal)),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          const error = cqrsErrors.create('PLINTH_ERR_SAGA_TIMEOUT', `${what} took longer than ${timeout} ms`)
          controller.abort(error)
          reject(error)
        }, timeout)
      }),
    ])
  } finally {
    clearTimeout(timer)
  }
}

/**
 * Starts, resumes and follows sagas on the tables of `eventStoreMigrations`.
 *
 * @example
 * const runner = new SagaRunner(db.kysely, { sagas: [provisionDevice], store })
 * await runner.resume() // after a restart: finish what the last process left
 * const state = await runner.start(provisionDevice, { device: 'd-7' })
 */
export class SagaRunner {
  readonly #rows: SagaStore
  readonly #options: SagaRunnerOptions
  readonly #byName: Map<string, SagaDefinition<any>>
  // One drive at a time per saga in this process: an event and resume() may reach one together.
  readonly #inFlight = new Map<string, Promise<SagaState>>()
  #subscription: Subscription | undefined
  #listening = false
  #timer: NodeJS.Timeout | undefined

  constructor(db: ConstructorParameters<typeof SagaStore>[0], options: SagaRunnerOptions) {
    this.#rows = new SagaStore(db)
    this.#options = options
    this.#byName = new Map()
    for (const definition of options.sagas) {
      if (this.#byName.has(definition.name)) throw cqrsErrors.create('PLINTH_ERR_SAGA_INVALID', `two sagas are named "${definition.name}"; saga names key their saved state, so they must differ`)
      this.#byName.set(definition.name, definition)
    }
  }

  /** Starts a saga and runs it until it ends or waits for an event; resolves with its state. */
  async start<Input>(definition: SagaDefinition<Input>, input: Input, options: { id?: string } = {}): Promise<SagaState> {
    this.#definition(definition.name)
    const id = options.id ?? `${definition.name}:${randomUUID()}`
    if (typeof id !== 'string' || id === '' || id.length > 200) throw cqrsErrors.create('PLINTH_ERR_SAGA_INVALID', `saga id ${JSON.stringify(id)} must be 1-200 characters`)
    const now = new Date().toISOString()
    const state: SagaState = { id, name: definition.name, status: 'running', input, steps: definition.steps.map((step) => ({ name: step.name, status: 'pending', attempts: 0 })), startedAt: now, updatedAt: now, revision: 0 }
    try {
      JSON.stringify(input)
    } catch (error) {
      throw cqrsErrors.create('PLINTH_ERR_SAGA_INVALID', `the input of saga "${definition.name}" cannot be saved as JSON: ${message(error)}`)
    }
    if (await this.#rows.insert(state)) this.#options.onStatus?.(state)
    return this.#drive(id)
  }

  /** The saved state of a saga, or undefined. */
  get(id: string): Promise<SagaState | undefined> {
    return this.#rows.get(id)
  }

  /** Sagas in the given statuses (default: those that need attention). */
  list(statuses: readonly SagaStatus[] = ['needs-attention']): Promise<SagaState[]> {
    return this.#rows.withStatus(statuses)
  }

  /** How many sagas are in each status. */
  counts(): Promise<Record<string, number>> {
    return this.#rows.countByStatus()
  }

  /** Marks a saga that needed attention as handled by hand. */
  async resolve(id: string): Promise<SagaState> {
    const state = await this.#rows.get(id)
    if (state?.status !== 'needs-attention') throw cqrsErrors.create('PLINTH_ERR_SAGA_INVALID', `saga ${JSON.stringify(id)} is ${state ? `"${state.status}"` : 'not saved'}; only a saga in "needs-attention" can be resolved`)
    state.status = 'resolved'
    if (!(await this.#rows.save(state))) throw cqrsErrors.create('PLINTH_ERR_SAGA_INVALID', `saga ${JSON.stringify(id)} changed while it was being resolved; read it again`)
    this.#options.onStatus?.(state)
    return state
  }

  /** Drives every saga a previous process left running or compensating (and overdue waits) to its end. */
  async resume(): Promise<SagaState[]> {
    const unfinished = await this.#rows.withStatus(['running', 'compensating'])
    const overdue = await this.#rows.overdue(Date.now())
    return Promise.all([...unfinished, ...overdue].filter((state) => this.#byName.has(state.name)).map((state) => this.#drive(state.id)))
  }

  // Only waits: a running saga belongs to the process driving it, and is resumed at a restart.
  async #wakeOverdue(): Promise<void> {
    const overdue = await this.#rows.overdue(Date.now())
    await Promise.all(overdue.filter((state) => this.#byName.has(state.name)).map((state) => this.#drive(state.id)))
  }

  /**
   * Follows the store (starting sagas on their event, waking waiting ones) and checks deadlines;
   * resolves once its starting position is fixed, so an event appended after that is seen.
   */
  async listen(): Promise<void> {
    const store = this.#options.store
    if (store === undefined) throw cqrsErrors.create('PLINTH_ERR_SAGA_INVALID', 'the saga runner needs the event store to listen: pass { store }')
    if (this.#listening) return
    this.#listening = true
    const types = new Set<string>()
    for (const definition of this.#byName.values()) {
      if (definition.startOn) types.add(definition.startOn.type)
      for (const step of definition.steps) if (step.wait) types.add(step.wait.type)
    }
    // 'end' is fixed here, as a saved checkpoint, rather than when the subscription first reads.
    if ((this.#options.from ?? 'end') === 'end' && (await store.readCheckpoint('sagas')) === 0) await store.saveCheckpoint('sagas', await store.headPosition())
    this.#subscription = subscribe(store, { name: 'sagas', types: [...types], handle: (event) => this.#onEvent(event) })
    this.#subscription.start()
    const tick = () => {
      this.#timer = setTimeout(() => void this.#wakeOverdue().catch(() => undefined).finally(() => this.#timer && tick()), this.#options.timerInterval ?? 1_000)
    }
    tick()
  }

  /** The subscription's status (for health), when listening. */
  subscriptionStatus() {
    return this.#subscription?.status()
  }

  /** Stops listening; lets sagas in flight reach their next saved state. */
  async close(): Promise<void> {
    clearTimeout(this.#timer)
    this.#timer = undefined
    await this.#subscription?.stop()
    this.#subscription = undefined
    this.#listening = false
    await Promise.allSettled([...this.#inFlight.values()])
  }

  #definition(name: string): SagaDefinition<any> {
    const definition = this.#byName.get(name)
    if (definition === undefined) throw cqrsErrors.create('PLINTH_ERR_SAGA_UNKNOWN', `no saga named "${name}" is given to this runner; declared: ${[...this.#byName.keys()].join(', ') || 'none'}`)
    return definition
  }

  async #onEvent(event: RecordedEvent): Promise<void> {
    for (const definition of this.#byName.values()) {
      if (definition.startOn?.type === event.type) {
        const input = definition.startOn.input ? definition.startOn.input(event) : event.data
        // Handled inline, so a later event this saga waits for cannot pass it by.
        await this.start(definition, input, { id: `${definition.name}:${event.id}` })
      }
      for (const step of definition.steps) {
        if (step.wait?.type !== event.type) continue
        const key = step.wait.correlate(event)
        if (key === undefined) continue
        for (const waiting of await this.#rows.waitingFor(definition.name, event.type, key)) {
          const current = waiting.steps.find((s) => s.status === 'running')
          if (current?.name !== step.name) continue
          current.status = 'done'
          current.result = event.data
          waiting.status = 'running'
          delete waiting.waiting
          // Not saved: another process delivered it (or timed it out) first.
          if (await this.#rows.save(waiting)) await this.#drive(waiting.id)
        }
      }
    }
  }

  #drive(id: string): Promise<SagaState> {
    const previous = this.#inFlight.get(id) ?? Promise.resolve(undefined)
    const next = previous.catch(() => undefined).then(() => this.#advance(id))
    this.#inFlight.set(id, next)
    void next.finally(() => this.#inFlight.get(id) === next && this.#inFlight.delete(id)).catch(() => undefined)
    return next
  }

  async #save(state: SagaState): Promise<void> {
    if (!(await this.#rows.save(state))) throw new Superseded()
  }

  async #setStatus(state: SagaState, status: SagaStatus): Promise<void> {
    state.status = status
    await this.#save(state)
    this.#options.onStatus?.(state)
  }

  async #advance(id: string): Promise<SagaState> {
    try {
      return await this.#steps(id)
    } catch (error) {
      if (!(error instanceof Superseded)) throw error
      return (await this.#rows.get(id))!
    }
  }

  async #steps(id: string): Promise<SagaState> {
    const state = await this.#rows.get(id)
    if (state === undefined) throw cqrsErrors.create('PLINTH_ERR_SAGA_UNKNOWN', `no saga with id ${JSON.stringify(id)} is saved`)
    const definition = this.#definition(state.name)
    while (!finished.includes(state.status)) {
      if (state.status === 'compensating') {
        await this.#compensate(state, definition)
        continue
      }
      const index = state.steps.findIndex((step) => step.status !== 'done')
      if (index < 0) {
        await this.#setStatus(state, 'completed')
        continue
      }
      const step = definition.steps[index]!
      const saved = state.steps[index]!
      if (step.wait) {
        if (state.status === 'waiting') {
          if (state.waiting && state.waiting.deadline > Date.now()) return state
          await this.#fail(state, saved, cqrsErrors.create('PLINTH_ERR_SAGA_TIMEOUT', `step "${step.name}" waited ${step.wait.timeout} ms for a ${step.wait.type} event with key ${JSON.stringify(state.waiting?.key)}, and none came`))
          continue
        }
        saved.status = 'running'
        state.waiting = { type: step.wait.type, key: step.wait.key({ sagaId: state.id, input: state.input, results: this.#results(state) }), deadline: Date.now() + step.wait.timeout }
        await this.#setStatus(state, 'waiting')
        return state
      }
      await this.#act(state, step, saved)
    }
    return state
  }

  #results(state: SagaState): Record<string, unknown> {
    return Object.fromEntries(state.steps.filter((step) => step.status === 'done' || step.status === 'compensating').map((step) => [step.name, step.result]))
  }

  /** Runs an action with its retries; saved `running` before each attempt, `done` or failed after. */
  async #act(state: SagaState, step: StepDefinition<any>, saved: StepState): Promise<void> {
    const retries = step.retries ?? 0
    let lastError: unknown
    for (let tried = 0; tried <= retries; tried++) {
      saved.status = 'running'
      saved.attempts++
      await this.#save(state)
      const context = { sagaId: state.id, input: state.input, results: this.#results(state), idempotencyKey: `${state.id}:${step.name}`, attempt: saved.attempts }
      try {
        const result = await attempt((signal) => step.action!({ ...context, signal } as StepContext<any>), step.timeout ?? 30_000, `step "${step.name}" of saga "${state.name}"`)
        saved.status = 'done'
        saved.result = result === undefined ? null : JSON.parse(JSON.stringify(result))
        delete saved.error
        await this.#save(state)
        return
      } catch (error) {
        lastError = error
        saved.error = message(error)
        if (tried < retries) await sleep((step.retryDelay ?? 100) * 2 ** tried)
      }
    }
    await this.#fail(state, saved, lastError)
  }

  async #fail(state: SagaState, saved: StepState, error: unknown): Promise<void> {
    saved.status = 'failed'
    saved.error = message(error)
    delete state.waiting
    state.error = cqrsErrors.create('PLINTH_ERR_SAGA_STEP_FAILED', `step "${saved.name}" of saga "${state.name}" failed after ${Math.max(saved.attempts, 1)} attempt(s): ${message(error)}`, { cause: error }).message
    await this.#setStatus(state, 'compensating')
  }

  /** Compensates every completed step, last first; a compensation that fails for good stops the saga. */
  async #compensate(state: SagaState, definition: SagaDefinition<any>): Promise<void> {
    for (let index = state.steps.length - 1; index >= 0; index--) {
      const saved = state.steps[index]!
      if (saved.status !== 'done' && saved.status !== 'compensating') continue
      const step = definition.steps[index]!
      if (step.compensate === undefined) {
        saved.status = 'compensated'
        await this.#save(state)
        continue
      }
      if (saved.status === 'done') saved.attempts = 0
      const retries = step.retries ?? 0
      let lastError: unknown
      for (let tried = 0; tried <= retries && saved.status !== 'compensated'; tried++) {
        saved.status = 'compensating'
        saved.attempts++
        await this.#save(state)
        const context = { sagaId: state.id, input: state.input, results: this.#results(state), idempotencyKey: `${state.id}:${step.name}:compensate`, attempt: saved.attempts, result: saved.result }
        try {
          await attempt((signal) => step.compensate!({ ...context, signal }), step.timeout ?? 30_000, `the compensation of step "${step.name}" of saga "${state.name}"`)
          saved.status = 'compensated'
          delete saved.error
          await this.#save(state)
        } catch (error) {
          lastError = error
          saved.error = message(error)
          if (tried < retries) await sleep((step.retryDelay ?? 100) * 2 ** tried)
        }
      }
      if (saved.status !== 'compensated') {
        state.error = cqrsErrors.create('PLINTH_ERR_SAGA_NEEDS_ATTENTION', `saga "${state.name}" (${state.id}) could not compensate step "${step.name}": ${message(lastError)}; it had failed because ${state.error ?? 'a step failed'}`).message
        await this.#setStatus(state, 'needs-attention')
        return
      }
    }
    await this.#setStatus(state, 'compensated')
  }
}
