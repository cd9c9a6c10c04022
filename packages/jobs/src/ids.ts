/** Job ids: time-ordered, so that jobs queued in one millisecond on one instance run in the order they were queued. */
import { randomBytes } from 'node:crypto'

let last = 0
let counter = 0
const instance = randomBytes(3).toString('hex')

/**
 * A new job id: 26 characters, sortable by creation time within an instance.
 *
 * @example
 * newJobId() // 'mj3k2q1a-0001-a1b2c3-9f8e7d'
 */
export function newJobId(): string {
  const now = Date.now()
  counter = now === last ? counter + 1 : 0
  last = now
  return `${now.toString(36).padStart(9, '0')}-${counter.toString(36).padStart(4, '0')}-${instance}-${randomBytes(3).toString('hex')}`
}
