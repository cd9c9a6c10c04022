/**
 * Saga state on the app's database: one row per saga in `plinth_sagas`, rewritten after every
 * transition of every step, so what a restarted process reads is what the last one finished.
 */
import type { Kysely } from 'kysely'
import { eventTables as t } from './schema.js'

/** Where a saga stands. `needs-attention`: a compensation failed for good; `resolved`: someone handled it. */
export type SagaStatus = 'running' | 'waiting' | 'compensating' | 'completed' | 'compensated' | 'needs-attention' | 'resolved'

/** Where one step stands. `running`/`compensating` after a restart mean: cut short, outcome unknown. */
export type StepStatus = 'pending' | 'running' | 'done' | 'failed' | 'compensating' | 'compensated'

export interface StepState {
  readonly name: string
  status: StepStatus
  /** Attempts of the action (or of the compensation once compensating), across restarts. */
  attempts: number
  result?: unknown
  error?: string
}

/** A saga as saved. */
export interface SagaState {
  readonly id: string
  readonly name: string
  status: SagaStatus
  readonly input: unknown
  readonly steps: StepState[]
  /** Why it failed, and why it could not compensate. */
  error?: string
  waiting?: { type: string; key: string; deadline: number }
  readonly startedAt: string
  updatedAt: string
  /** Rises with every save; a save from a stale copy is refused. */
  revision: number
}

interface SagaRow {
  id: string
  name: string
  status: string
  input: string
  steps: string
  error: string | null
  waiting_type: string | null
  waiting_key: string | null
  deadline: number | string | null
  started_at: string
  updated_at: string
  revision: number | string
}

function fromRow(row: SagaRow): SagaState {
  return {
    id: row.id,
    name: row.name,
    status: row.status as SagaStatus,
    input: JSON.parse(row.input) as unknown,
    steps: JSON.parse(row.steps) as StepState[],
    ...(row.error !== null ? { error: row.error } : {}),
    ...(row.waiting_type !== null ? { waiting: { type: row.waiting_type, key: row.waiting_key ?? '', deadline: Number(row.deadline) } } : {}),
    startedAt: row.started_at,
    updatedAt: row.updated_at,
    revision: Number(row.revision),
  }
}

function toColumns(state: SagaState) {
  return {
    status: state.status,
    steps: JSON.stringify(state.steps),
    error: state.error ?? null,
    waiting_type: state.waiting?.type ?? null,
    waiting_key: state.waiting?.key ?? null,
    deadline: state.waiting?.deadline ?? null,
    updated_at: state.updatedAt,
  }
}

/** Reads and writes saga rows; the runner is its only writer. */
export class SagaStore {
  constructor(readonly db: Kysely<any>) {}

  /** Inserts a new saga; false when one with its id exists already (a redelivered start). */
  async insert(state: SagaState): Promise<boolean> {
    const result = await this.db
      .insertInto(t.sagas)
      .values({ id: state.id, name: state.name, input: JSON.stringify(state.input ?? null), started_at: state.startedAt, ...toColumns(state), revision: state.revision })
      .onConflict((oc) => oc.column('id').doNothing())
      .executeTakeFirst()
    return Number(result.numInsertedOrUpdatedRows ?? 0) > 0
  }

  /**
   * Saves a saga if nobody saved it since this copy was read; false otherwise (another process
   * resumed it), and the caller must stop driving its copy.
   */
  async save(state: SagaState): Promise<boolean> {
    state.updatedAt = new Date().toISOString()
    const result = await this.db
      .updateTable(t.sagas)
      .set({ ...toColumns(state), revision: state.revision + 1 })
      .where('id', '=', state.id)
      .where('revision', '=', state.revision)
      .executeTakeFirst()
    if (Number(result.numUpdatedRows) === 0) return false
    state.revision++
    return true
  }

  async get(id: string): Promise<SagaState | undefined> {
    const row = (await this.db.selectFrom(t.sagas).selectAll().where('id', '=', id).executeTakeFirst()) as SagaRow | undefined
    return row && fromRow(row)
  }

  async withStatus(statuses: readonly SagaStatus[]): Promise<SagaState[]> {
    const rows = (await this.db.selectFrom(t.sagas).selectAll().where('status', 'in', statuses).orderBy('started_at').execute()) as SagaRow[]
    return rows.map(fromRow)
  }

  async waitingFor(name: string, type: string, key: string): Promise<SagaState[]> {
    const rows = (await this.db
      .selectFrom(t.sagas)
      .selectAll()
      .where('status', '=', 'waiting')
      .where('waiting_type', '=', type)
      .where('waiting_key', '=', key)
      .where('name', '=', name)
      .execute()) as SagaRow[]
    return rows.map(fromRow)
  }

  async overdue(now: number): Promise<SagaState[]> {
    const rows = (await this.db.selectFrom(t.sagas).selectAll().where('status', '=', 'waiting').where('deadline', '<=', now).execute()) as SagaRow[]
    return rows.map(fromRow)
  }

  async countByStatus(): Promise<Record<string, number>> {
    const rows = await this.db.selectFrom(t.sagas).select(['status', (eb) => eb.fn.countAll().as('n')]).groupBy('status').execute()
    return Object.fromEntries(rows.map((row) => [row.status as string, Number(row.n)]))
  }
}
