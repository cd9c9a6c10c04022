import type { Kysely } from 'kysely'
import type { Device, Finding, Reading, ReadingQuery, Rule } from './model.js'

/** The telemetry tables, as the migrations create them. */
export interface TelemetryTables {
  telemetry_devices: { id: string; kind: string; metadata: string; registered_at: string }
  telemetry_readings: { device_id: string; recorded_at: string; metric: string; value: number }
  telemetry_rules: {
    id: string
    device_id: string
    kind: string
    metric: string | null
    above: number | null
    below: number | null
    seconds: number | null
    created_at: string
  }
  telemetry_findings: { id: string; device_id: string; rule_id: string; kind: string; message: string; value: number | null; observed_at: string; raised_at: string }
}

// Rows per INSERT, well under SQLite's limit of bound parameters per statement.
const rowsPerInsert = 500

const chunks = <T>(items: readonly T[]): T[][] => Array.from({ length: Math.ceil(items.length / rowsPerInsert) }, (_, i) => items.slice(i * rowsPerInsert, (i + 1) * rowsPerInsert))

/** What the readings table's primary key says a reading is: its device, metric and moment. */
const readingKey = (reading: Reading) => JSON.stringify([reading.device, reading.metric, reading.timestamp])

/** Each reading moved later by the number of readings of its device and metric among them, in milliseconds. */
function later(readings: readonly Reading[]): Reading[] {
  const count = new Map<string, number>()
  const series = (reading: Reading) => JSON.stringify([reading.device, reading.metric])
  for (const reading of readings) count.set(series(reading), (count.get(series(reading)) ?? 0) + 1)
  return readings.map((reading) => ({ ...reading, timestamp: new Date(Date.parse(reading.timestamp) + count.get(series(reading))!).toISOString() }))
}

type RuleRow = TelemetryTables['telemetry_rules']
type FindingRow = TelemetryTables['telemetry_findings']

const toDevice = (row: TelemetryTables['telemetry_devices']): Device => ({
  id: row.id,
  kind: row.kind,
  metadata: JSON.parse(row.metadata) as Record<string, string>,
  registeredAt: row.registered_at,
})

const toRule = (row: RuleRow): Rule => {
  const base = { id: row.id, device: row.device_id, createdAt: row.created_at }
  if (row.kind === 'silence') return { ...base, kind: 'silence', seconds: row.seconds ?? 0 }
  return { ...base, kind: 'threshold', metric: row.metric ?? '', ...(row.above === null ? {} : { above: row.above }), ...(row.below === null ? {} : { below: row.below }) }
}

const ruleRow = (rule: Rule): RuleRow => ({
  id: rule.id,
  device_id: rule.device,
  kind: rule.kind,
  metric: rule.kind === 'threshold' ? rule.metric : null,
  above: rule.kind === 'threshold' ? (rule.above ?? null) : null,
  below: rule.kind === 'threshold' ? (rule.below ?? null) : null,
  seconds: rule.kind === 'silence' ? rule.seconds : null,
  created_at: rule.createdAt,
})

const toFinding = (row: FindingRow): Finding => ({
  id: row.id,
  device: row.device_id,
  rule: row.rule_id,
  kind: row.kind as Finding['kind'],
  message: row.message,
  value: row.value,
  observedAt: row.observed_at,
  raisedAt: row.raised_at,
})

const toReading = (row: TelemetryTables['telemetry_readings']): Reading => ({ device: row.device_id, metric: row.metric, value: row.value, timestamp: row.recorded_at })

/**
 * The telemetry module's queries, through Kysely on whichever database the app runs (SQLite or
 * PostgreSQL: only portable SQL here). `transaction()` gives a store whose queries share one
 * transaction.
 */
export class TelemetryStore {
  readonly #db: Kysely<TelemetryTables>

  constructor(db: Kysely<TelemetryTables>) {
    this.#db = db
  }

  /** Runs `work` in one transaction: everything it stores is kept, or nothing if it throws. */
  transaction<T>(work: (store: TelemetryStore) => Promise<T>): Promise<T> {
    return this.#db.transaction().execute((trx) => work(new TelemetryStore(trx)))
  }

  /** Stores a device; false when one with its id exists already. */
  async insertDevice(device: Device): Promise<boolean> {
    const row = { id: device.id, kind: device.kind, metadata: JSON.stringify(device.metadata), registered_at: device.registeredAt }
    const inserted = await this.#db.insertInto('telemetry_devices').values(row).onConflict((c) => c.column('id').doNothing()).returning('id').execute()
    return inserted.length === 1
  }

  async device(id: string): Promise<Device | undefined> {
    const row = await this.#db.selectFrom('telemetry_devices').selectAll().where('id', '=', id).executeTakeFirst()
    return row && toDevice(row)
  }

  async devices(limit: number): Promise<Device[]> {
    const rows = await this.#db.selectFrom('telemetry_devices').selectAll().orderBy('id').limit(limit).execute()
    return rows.map(toDevice)
  }

  /** Which of `ids` are registered. */
  async registered(ids: readonly string[]): Promise<Set<string>> {
    if (ids.length === 0) return new Set()
    const rows = await this.#db.selectFrom('telemetry_devices').select('id').where('id', 'in', [...ids]).execute()
    return new Set(rows.map((row) => row.id))
  }

  async insertRules(rules: readonly Rule[]): Promise<void> {
    if (rules.length > 0) await this.#db.insertInto('telemetry_rules').values(rules.map(ruleRow)).execute()
  }

  /** The rules of some devices (or of every device), of one kind or all. */
  async rules(filter: { devices?: readonly string[]; kind?: Rule['kind'] }): Promise<Rule[]> {
    let query = this.#db.selectFrom('telemetry_rules').selectAll().orderBy('created_at').orderBy('kind').orderBy('id')
    if (filter.devices) {
      if (filter.devices.length === 0) return []
      query = query.where('device_id', 'in', [...filter.devices])
    }
    if (filter.kind) query = query.where('kind', '=', filter.kind)
    return (await query.execute()).map(toRule)
  }

  /**
   * Stores readings that carry their own timestamp; resolves to those that were new. A reading
   * stored before (same device, metric and timestamp) is skipped: that is a retry's duplicate.
   */
  async insertReadings(readings: readonly Reading[]): Promise<Reading[]> {
    const stored: Reading[] = []
    for (const chunk of chunks(readings)) {
      const rows = chunk.map((r) => ({ device_id: r.device, recorded_at: r.timestamp, metric: r.metric, value: r.value }))
      const inserted = await this.#db
        .insertInto('telemetry_readings')
        .values(rows)
        .onConflict((c) => c.columns(['device_id', 'recorded_at', 'metric']).doNothing())
        .returningAll()
        .execute()
      stored.push(...inserted.map(toReading))
    }
    return stored
  }

  /**
   * Stores readings stamped with their arrival time, which are never duplicates: one whose moment
   * is taken for its device and metric (by a reading of another request, or one with its own
   * timestamp) moves later, by as many milliseconds as the readings of that device and metric
   * still to place, so that a whole block clears another request's block in one move. Resolves
   * to the readings stored and those still unplaced after `moves` moves (the caller refuses the
   * batch: their device and metric are written faster than they can be stamped apart).
   */
  async insertArrivals(readings: readonly Reading[], moves = 8): Promise<{ stored: Reading[]; unplaced: Reading[] }> {
    const stored: Reading[] = []
    let pending = readings
    for (let move = 0; pending.length > 0 && move <= moves; move++) {
      if (move > 0) pending = later(pending)
      const inserted = await this.insertReadings(pending)
      stored.push(...inserted)
      const placed = new Set(inserted.map(readingKey))
      pending = pending.filter((reading) => !placed.has(readingKey(reading)))
    }
    return { stored, unplaced: [...pending] }
  }

  /** A device's readings in a time range, newest first. */
  async readings(device: string, query: ReadingQuery): Promise<Reading[]> {
    let select = this.#db.selectFrom('telemetry_readings').selectAll().where('device_id', '=', device)
    if (query.from !== undefined) select = select.where('recorded_at', '>=', query.from)
    if (query.to !== undefined) select = select.where('recorded_at', '<', query.to)
    if (query.metric !== undefined) select = select.where('metric', '=', query.metric)
    const rows = await select.orderBy('recorded_at', 'desc').orderBy('metric').limit(query.limit).execute()
    return rows.map(toReading)
  }

  /** When each device last sent a reading. */
  async lastHeard(devices: readonly string[]): Promise<Map<string, string>> {
    if (devices.length === 0) return new Map()
    const rows = await this.#db
      .selectFrom('telemetry_readings')
      .select((eb) => ['device_id', eb.fn.max('recorded_at').as('last')])
      .where('device_id', 'in', [...devices])
      .groupBy('device_id')
      .execute()
    return new Map(rows.map((row) => [row.device_id, row.last]))
  }

  /** Stores findings; resolves to those that were new (one per rule and moment). */
  async insertFindings(findings: readonly Finding[]): Promise<Finding[]> {
    const stored: Finding[] = []
    for (const chunk of chunks(findings)) {
      const rows = chunk.map((f) => ({ id: f.id, device_id: f.device, rule_id: f.rule, kind: f.kind, message: f.message, value: f.value, observed_at: f.observedAt, raised_at: f.raisedAt }))
      const inserted = await this.#db
        .insertInto('telemetry_findings')
        .values(rows)
        .onConflict((c) => c.columns(['rule_id', 'observed_at']).doNothing())
        .returningAll()
        .execute()
      stored.push(...inserted.map(toFinding))
    }
    return stored
  }

  /** A device's findings, newest first. */
  async findings(device: string, limit: number): Promise<Finding[]> {
    const rows = await this.#db.selectFrom('telemetry_findings').selectAll().where('device_id', '=', device).orderBy('raised_at', 'desc').orderBy('id').limit(limit).execute()
    return rows.map(toFinding)
  }
}
