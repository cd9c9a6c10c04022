/**
 * The bus of a `plinth validate` run: nothing is started there, so the checks that need the
 * broker (its own reachability, the WebSocket pub/sub probe) connect the bus once between them
 * and stop it when the run ends. Never used by a running app, whose component starts the bus.
 */
import type { Bus } from './bus.js'

const connecting = new WeakMap<Bus, Promise<void>>()

/** Starts `bus` for a check, once however many checks ask; rejects with the broker's own error. */
export function connectForCheck(bus: Bus): Promise<void> {
  let started = connecting.get(bus)
  if (!started) connecting.set(bus, (started = bus.start()))
  return started
}
