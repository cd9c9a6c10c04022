/**
 * Subscription events: what a resolver follows is what was published to its channel after it
 * started following, through the app's pub/sub when it provides one (shared here by two
 * "instances", as a bus pub/sub is), in the process otherwise; a returned iterator stops listening.
 */
import { createApp, provide } from '@plinth/core'
import { startTestApp } from '@plinth/core/testing'
import { describe, expect, it } from 'vitest'
import { GraphQLEvents, GraphQLPubSub, SubscriptionEvents, graphqlEvents, type SubscriptionPubSub } from '../src/index.js'

/** A pub/sub two apps share, counting its listeners per channel. */
function sharedPubSub(): SubscriptionPubSub & { listeners(channel: string): number } {
  const channels = new Map<string, Set<(payload: string) => void>>()
  return {
    publish: (channel, payload) => {
      for (const listener of channels.get(channel) ?? []) setImmediate(() => listener(payload))
      return Promise.resolve()
    },
    subscribe: (channel, listener) => {
      const set = channels.get(channel) ?? new Set()
      channels.set(channel, set.add(listener))
      return Promise.resolve(() => Promise.resolve(void set.delete(listener)))
    },
    listeners: (channel) => channels.get(channel)?.size ?? 0,
  }
}

describe('subscription events', () => {
  it('follows what is published to a channel after following starts, in order, until returned', async () => {
    const events = new SubscriptionEvents()
    await events.publish('readings:pump', { value: 0 })
    const follower = await events.follow<{ value: number }>('readings:pump')
    await events.publish('readings:pump', { value: 1 })
    await events.publish('readings:valve', { value: 9 })
    await events.publish('readings:pump', { value: 2 })
    expect(await follower.next()).toEqual({ done: false, value: { value: 1 } })
    expect(await follower.next()).toEqual({ done: false, value: { value: 2 } })
    const pending = follower.next()
    await follower.return!()
    expect(await pending).toEqual({ done: true, value: undefined })
    await events.publish('readings:pump', { value: 3 })
    expect(await follower.next()).toEqual({ done: true, value: undefined })
  })

  it('carries events between two apps through the GraphQLPubSub they are given', async () => {
    const pubsub = sharedPubSub()
    const instance = (name: string) => createApp({ name, components: [graphqlEvents, provide(GraphQLPubSub, { value: pubsub })], logging: { level: 'silent' } })
    await using a = await startTestApp(instance('a'))
    await using b = await startTestApp(instance('b'))
    const follower = await (await b.resolve(GraphQLEvents)).follow('jobs:7')
    await (await a.resolve(GraphQLEvents)).publish('jobs:7', { percent: 50 })
    expect(await follower.next()).toEqual({ done: false, value: { percent: 50 } })
    // Its own channels, so one pub/sub can carry the WebSocket server's too.
    expect(pubsub.listeners('graphql:jobs:7')).toBe(1)
    await follower.return!()
    expect(pubsub.listeners('graphql:jobs:7')).toBe(0)
  })
})
