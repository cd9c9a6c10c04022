import type { Logger } from '@plinth/core'
import type { WsConnection } from './connection.js'
import type { PubSub } from './pubsub.js'

type Unlink = () => Promise<void>

/**
 * Topic membership of this instance's connections, bridged to the pub/sub backend: the first
 * local subscriber of a topic subscribes this instance to its channel, the last one to leave
 * unsubscribes it. A broadcast goes through the backend only, never straight to local
 * clients, so each client receives it exactly once whichever instance published it.
 */
export class Topics {
  readonly #pubsub: PubSub
  readonly #prefix: string
  readonly #log: Logger
  readonly #members = new Map<string, Set<WsConnection>>()
  readonly #links = new Map<string, Promise<Unlink>>()

  constructor(pubsub: PubSub, prefix: string, log: Logger) {
    this.#pubsub = pubsub
    this.#prefix = prefix
    this.#log = log
  }

  /** Topics with at least one local subscriber. */
  names(): string[] {
    return [...this.#members.keys()]
  }

  /** Local subscribers of a topic. */
  size(topic: string): number {
    return this.#members.get(topic)?.size ?? 0
  }

  /** Adds a connection to a topic; resolves once this instance receives the topic's broadcasts. */
  async subscribe(topic: string, connection: WsConnection): Promise<void> {
    let members = this.#members.get(topic)
    if (members === undefined) this.#members.set(topic, (members = new Set()))
    members.add(connection)
    connection.topics.add(topic)
    let link = this.#links.get(topic)
    if (link === undefined) {
      link = this.#pubsub.subscribe(this.#prefix + topic, (payload) => this.#deliver(topic, payload))
      this.#links.set(topic, link)
    }
    try {
      await link
    } catch (error) {
      if (this.#links.get(topic) === link) this.#links.delete(topic)
      this.#remove(topic, connection)
      throw error
    }
  }

  /** Removes a connection from a topic; the instance stops listening when no one is left. */
  async unsubscribe(topic: string, connection: WsConnection): Promise<boolean> {
    const was = connection.topics.has(topic)
    this.#remove(topic, connection)
    if (this.#members.has(topic)) return was
    const link = this.#links.get(topic)
    this.#links.delete(topic)
    await this.#unlink(topic, link)
    return was
  }

  /** Removes a closing connection from every topic it joined. */
  async leaveAll(connection: WsConnection): Promise<void> {
    await Promise.all([...connection.topics].map((topic) => this.unsubscribe(topic, connection)))
  }

  /** Publishes an event to a topic's subscribers on every instance. */
  broadcast(topic: string, data: unknown): Promise<void> {
    return publishEvent(this.#pubsub, this.#prefix, topic, data)
  }

  /** Drops every membership and backend subscription. */
  async close(): Promise<void> {
    const links = [...this.#links]
    this.#links.clear()
    this.#members.clear()
    await Promise.all(links.map(([topic, link]) => this.#unlink(topic, link)))
  }

  #remove(topic: string, connection: WsConnection): void {
    connection.topics.delete(topic)
    const members = this.#members.get(topic)
    if (members === undefined) return
    members.delete(connection)
    if (members.size === 0) this.#members.delete(topic)
  }

  async #unlink(topic: string, link: Promise<Unlink> | undefined): Promise<void> {
    if (link === undefined) return
    try {
      await (await link)()
    } catch (error) {
      this.#log.warn({ topic, err: error }, `leaving topic "${topic}" on the pub/sub backend failed`)
    }
  }

  #deliver(topic: string, payload: string): void {
    const members = this.#members.get(topic)
    if (members === undefined) return
    for (const connection of members) connection.sendRaw(payload)
  }
}

/** Publishes a topic event, serialised once for every instance and client. */
export function publishEvent(pubsub: PubSub, prefix: string, topic: string, data: unknown): Promise<void> {
  return pubsub.publish(prefix + topic, JSON.stringify({ type: 'event', topic, data }))
}
