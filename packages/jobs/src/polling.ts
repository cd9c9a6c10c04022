/**
 * The polling fallback's HTTP semantics, independent of any server: an ETag that changes when
 * the job's state, progress or attempts change, 304 while it has not, and Retry-After telling
 * the client when a change is worth asking about (nothing once the job has finished).
 */
import { createHash } from 'node:crypto'
import type { JobStatus } from './contract.js'

/** What a `GET /jobs/:id` answers. */
export interface PollingAnswer {
  readonly statusCode: 200 | 304
  readonly headers: Readonly<Record<string, string>>
  /** The status, on 200 only. */
  readonly body?: JobStatus
}

/**
 * A strong ETag of the job's status: the same status, the same tag, on every instance.
 *
 * @example
 * jobEtag(status) // '"3f2a...e1"'
 */
export function jobEtag(status: JobStatus): string {
  return `"${createHash('sha1').update(JSON.stringify(status)).digest('base64url')}"`
}

function matches(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false
  if (header.trim() === '*') return true
  // If-None-Match compares weakly (RFC 9110 13.1.2): W/ prefixes do not count.
  return header.split(',').some((candidate) => candidate.trim().replace(/^W\//, '') === etag)
}

/**
 * The answer to a poll: 304 without a body while `If-None-Match` still matches, else 200 with
 * the status; `Retry-After` (seconds) while the job is queued or active.
 *
 * @example
 * const answer = pollingAnswer(await jobs.get(id), request.headers['if-none-match'])
 * reply.code(answer.statusCode).headers(answer.headers).send(answer.body)
 */
export function pollingAnswer(status: JobStatus, ifNoneMatch?: string, retryAfter: { queued: number; active: number } = { queued: 2, active: 1 }): PollingAnswer {
  const etag = jobEtag(status)
  const finished = status.state === 'completed' || status.state === 'failed' || status.state === 'cancelled'
  const headers: Record<string, string> = { etag, 'cache-control': 'no-cache' }
  if (!finished) headers['retry-after'] = String(status.state === 'active' ? retryAfter.active : retryAfter.queued)
  if (matches(ifNoneMatch, etag)) return { statusCode: 304, headers }
  return { statusCode: 200, headers, body: status }
}
