/**
 * A clock for expiry checks. On virtual machines without a TSC clock source, Date.now() is a
 * system call (measured at about 240 ns on the benchmark machine, more than a memory hit
 * itself), so the time is read once per turn of the event loop, or per 1,000 reads when
 * microtasks run on: within one synchronous stretch, TTLs are precise to that stretch.
 */
let cached = 0
let readsLeft = 0
// One expiry queued at a time: a long synchronous stretch reads the clock many times over.
let expiring = false

function expire(): void {
  readsLeft = 0
  expiring = false
}

/** Milliseconds since the epoch, as of this turn of the event loop. */
export function now(): number {
  if (readsLeft-- > 0) return cached
  cached = Date.now()
  readsLeft = 1_000
  if (!expiring) {
    expiring = true
    setImmediate(expire).unref()
  }
  return cached
}
