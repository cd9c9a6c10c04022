import type { Cache } from '@plinth/cache'
import { randomUUID } from 'node:crypto'
import type { MetricsRegistry } from '@plinth/core'
import { whileAvailable } from '../../database.js'
import { Conflict, InvalidInput, NotFound, Unavailable, issuesOf, parse, type Issue } from '../../errors.js'
import type { DefaultRules } from './default-rules.js'
import { silenceFindings, thresholdFindings } from './diagnostics.js'
import type { ReadingFeed } from './feed.js'
import { DeviceInput, ReadingInput, ReadingQuery, RuleInput, type Device, type Finding, type IngestResult, type Reading, type Rule } from './model.js'
import type { TelemetryStore } from './store.js'

/** The protocol a reading arrived by, as the ingest metric labels it ('bus': a reading event). */
export type Transport = 'rest' | 'grpc' | 'bus'

export interface TelemetryOptions {
  /** The most readings one batch may carry. */
  readonly maxBatch: number
  /** Seconds a client is told to wait while the database is unavailable. */
  readonly retryAfter: number
  /** Where device look-ups are cached (found and not found), shared by the instances on one Redis. */
  readonly devices?: Cache
}

type Path = readonly (string | number)[]

/**
 * The telemetry service, whatever the protocol: devices and their rules, readings ingested one
 * by one or as all-or-nothing batches, threshold and silence diagnostics, and queries. Input is
 * validated here, so every protocol refuses the same things with the same field names.
 */
export class Telemetry {
  readonly #store: TelemetryStore
  readonly #feed: ReadingFeed
  readonly #defaults: DefaultRules
  readonly #options: TelemetryOptions
  readonly #ingested
  readonly #found

  constructor(store: TelemetryStore, feed: ReadingFeed, defaults: DefaultRules, metrics: MetricsRegistry, options: TelemetryOptions) {
    this.#store = store
    this.#feed = feed
    this.#defaults = defaults
    this.#options = options
    this.#ingested = metrics.counter({ name: 'telemetry_readings_ingested_total', help: 'Readings stored, by the protocol they arrived by', labelNames: ['transport'] })
    this.#found = metrics.counter({ name: 'telemetry_findings_total', help: 'Diagnostic findings raised, by rule kind', labelNames: ['kind'] })
  }

  /** Registers a device with the default rules of its kind; 409 when the id is taken. */
  async registerDevice(input: unknown): Promise<Device> {
    const { id, kind, metadata } = parse(DeviceInput, input, 'the device')
    const device: Device = { id, kind, metadata, registeredAt: new Date().toISOString() }
    const rules = (this.#defaults.get(kind) ?? []).map((rule) => ({ ...rule, id: randomUUID(), device: id, createdAt: device.registeredAt }))
    await this.#available(() =>
      this.#store.transaction(async (store) => {
        if (!(await store.insertDevice(device))) throw new Conflict(`device "${id}" is registered already`)
        await store.insertRules(rules)
      }),
    )
    // A cached "not found" for this id would hide the device: forget it, on every instance.
    await this.#options.devices?.delete(id)
    return device
  }

  /** A device; 404 when it is not registered. */
  async device(id: string): Promise<Device> {
    const lookup = () => this.#available(() => this.#store.device(id))
    const device = await (this.#options.devices ? this.#options.devices.getOrSet(id, lookup) : lookup())
    if (!device) throw new NotFound(`no device "${id}" is registered`)
    return device
  }

  devices(limit = 100): Promise<Device[]> {
    return this.#available(() => this.#store.devices(limit))
  }

  /** Adds a diagnostic rule to a device. */
  async addRule(deviceId: string, input: unknown): Promise<Rule> {
    const rule: Rule = { ...parse(RuleInput, input, 'the rule'), id: randomUUID(), device: deviceId, createdAt: new Date().toISOString() }
    await this.device(deviceId)
    await this.#available(() => this.#store.insertRules([rule]))
    return rule
  }

  async rules(deviceId: string): Promise<Rule[]> {
    await this.device(deviceId)
    return this.#available(() => this.#store.rules({ devices: [deviceId] }))
  }

  /** Stores one reading. */
  ingest(input: unknown, transport: Transport): Promise<IngestResult> {
    return this.#ingest([input], transport, () => [], 'the reading')
  }

  /**
   * Stores a batch in one transaction: one invalid reading (or one of an unregistered device)
   * rejects the whole batch, naming each bad field as `readings[i].field`, and stores none of it.
   */
  async ingestBatch(inputs: readonly unknown[], transport: Transport): Promise<IngestResult> {
    if (inputs.length > this.#options.maxBatch) {
      throw new InvalidInput([{ path: ['readings'], message: `holds ${inputs.length} readings; a batch holds at most ${this.#options.maxBatch}` }], 'the batch', 'nothing was stored')
    }
    return this.#ingest(inputs, transport, (index) => ['readings', index], 'the batch', 'nothing was stored')
  }

  /** A device's readings in a time range (`from` inclusive, `to` exclusive), newest first. */
  async readings(deviceId: string, query: unknown): Promise<Reading[]> {
    const parsed = parse(ReadingQuery, query, 'the query')
    await this.device(deviceId)
    return this.#available(() => this.#store.readings(deviceId, parsed))
  }

  /** A device's diagnostic findings, newest first. */
  async findings(deviceId: string, limit = 100): Promise<Finding[]> {
    await this.device(deviceId)
    return this.#available(() => this.#store.findings(deviceId, limit))
  }

  /** Evaluates every silence rule at `now`; resolves to the findings that are new. */
  async detectSilence(now = Date.now()): Promise<Finding[]> {
    const found = await this.#available(async () => {
      const rules = await this.#store.rules({ kind: 'silence' })
      const lastHeard = await this.#store.lastHeard([...new Set(rules.map((rule) => rule.device))])
      return this.#store.insertFindings(silenceFindings(rules, lastHeard, now))
    })
    this.#count(found)
    return found
  }

  /**
   * A reading with its own timestamp is identified by it: sent again (a retry), it is counted as
   * a duplicate and not stored twice. A reading without one is stamped with its arrival time and
   * is never a duplicate: the readings of one device and metric in a batch are stamped a
   * millisecond apart, in the batch's order, and one whose moment is taken moves later (the store's
   * insertArrivals). Nothing accepted is lost.
   */
  async #ingest(inputs: readonly unknown[], transport: Transport, pathOf: (index: number) => Path, what: string, consequence?: string): Promise<IngestResult> {
    const receivedAt = Date.now()
    const readings: Reading[] = []
    const arrivals: Reading[] = []
    const perSeries = new Map<string, number>()
    const devices: string[] = []
    const issues: Issue[] = []
    inputs.forEach((input, index) => {
      const parsed = ReadingInput.safeParse(input)
      if (!parsed.success) {
        issues.push(...issuesOf(parsed.error.issues, pathOf(index)))
        return
      }
      const { device, metric, value, timestamp } = parsed.data
      devices.push(device)
      if (timestamp !== undefined) {
        readings.push({ device, metric, value, timestamp })
        return
      }
      const series = JSON.stringify([device, metric])
      const earlier = perSeries.get(series) ?? 0
      perSeries.set(series, earlier + 1)
      arrivals.push({ device, metric, value, timestamp: new Date(receivedAt + earlier).toISOString() })
    })
    if (issues.length > 0) throw new InvalidInput(issues, what, consequence)

    const { stored, findings } = await this.#available(() =>
      this.#store.transaction(async (store) => {
        const registered = await store.registered([...new Set(devices)])
        const unknown = devices.flatMap((device, index) => (registered.has(device) ? [] : [{ path: [...pathOf(index), 'device'], message: `"${device}" is not a registered device` }]))
        if (unknown.length > 0) throw new InvalidInput(unknown, what, consequence)
        const stored = await store.insertReadings(readings)
        const { stored: arrived, unplaced } = await store.insertArrivals(arrivals)
        if (unplaced.length > 0) {
          const [first] = unplaced as [Reading]
          throw new Unavailable(`readings of device "${first.device}" (${first.metric}) arrive faster than they can be stamped apart; nothing was stored, try again in 1 s`, 1)
        }
        stored.push(...arrived)
        const rules = await store.rules({ devices: [...new Set(stored.map((r) => r.device))], kind: 'threshold' })
        return { stored, findings: await store.insertFindings(thresholdFindings(stored, rules)) }
      }),
    )
    // Published only once committed, so that no subscriber sees a reading a rollback took back.
    this.#ingested.inc({ transport }, stored.length)
    this.#count(findings)
    await this.#feed.publish(stored)
    return { stored: stored.length, duplicates: readings.length + arrivals.length - stored.length, findings: findings.length }
  }

  #count(findings: readonly Finding[]): void {
    for (const finding of findings) this.#found.inc({ kind: finding.kind })
  }

  #available<T>(work: () => Promise<T>): Promise<T> {
    return whileAvailable(this.#options.retryAfter, work)
  }
}
