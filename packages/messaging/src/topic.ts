/** Declaring topics, and checking messages against a topic's schema. */
import type { StandardSchemaV1 } from '@standard-schema/spec'
import type { Topic } from './contract.js'
import { messagingErrors } from './errors.js'

// Segments every broker accepts as they are: Redis takes any key, NATS subjects refuse spaces,
// wildcards and empty tokens, JetStream stream names refuse dots (we map them to "_").
const topicName = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/

/** The file:line that called into this module, for errors that name where a topic was declared. */
function callerSite(): string {
  const lines = new Error().stack?.split('\n').slice(1) ?? []
  const outside = lines.find((line) => !line.includes('/messaging/src/topic.') && !line.includes('/messaging/dist/topic.'))
  const match = outside === undefined ? null : /\(?((?:file:\/\/)?[^()\s]+:\d+):\d+\)?\s*$/.exec(outside)
  return match?.[1] ?? 'unknown site'
}

/** Throws PLINTH_ERR_MESSAGING_INVALID_TOPIC when a broker would refuse the name. */
export function assertTopicName(name: unknown, site: string): asserts name is string {
  if (typeof name !== 'string' || name.length === 0 || name.length > 200 || !topicName.test(name)) {
    throw messagingErrors.create(
      'PLINTH_ERR_MESSAGING_INVALID_TOPIC',
      `topic ${JSON.stringify(name)} declared at ${site} is not a valid topic name: use letters, digits, "_" and "-" in dot-separated segments, at most 200 characters (e.g. "telemetry.reading")`,
    )
  }
}

interface TopicDeclaration {
  /** A topic whose messages are of type T, unchecked at run time. */
  of<T>(): Topic<T>
  /** A topic whose messages must match `schema`, on publish and on receive. */
  of<S extends StandardSchemaV1>(schema: S): Topic<StandardSchemaV1.InferOutput<S>>
}

/**
 * Declares a topic. The name is checked at once, so a name a broker would refuse fails where it
 * is declared; a Standard Schema (zod, valibot, arktype, ...) makes the bus check every message
 * on publish (rejected with the field path) and on receive (dead-lettered with the reason).
 *
 * @example
 * const Reading = topic('telemetry.reading').of<{ device: string; value: number }>()
 * const Checked = topic('telemetry.checked').of(z.object({ device: z.string(), value: z.number() }))
 */
export function topic(name: string): TopicDeclaration {
  const site = callerSite()
  assertTopicName(name, site)
  return {
    of: (schema?: StandardSchemaV1) => Object.freeze({ name, schema, site }),
  }
}

/** A message's problems as `path: message` lines, or undefined when it matches. */
export async function schemaProblems(schema: StandardSchemaV1, value: unknown): Promise<{ value: unknown; problems?: string[] }> {
  let result = schema['~standard'].validate(value)
  if (result instanceof Promise) result = await result
  if (result.issues === undefined) return { value: result.value }
  const problems = result.issues.map((issue) => {
    const path = (issue.path ?? []).map((segment) => String(typeof segment === 'object' ? segment.key : segment)).join('.')
    return `${path === '' ? '(message)' : path}: ${issue.message}`
  })
  return { value, problems }
}

/**
 * Checks a message against its topic's schema before publishing; throws
 * PLINTH_ERR_MESSAGING_INVALID_MESSAGE with each field path otherwise.
 */
export async function validateForPublish<T>(topic: Topic<T>, message: T): Promise<T> {
  if (topic.schema === undefined) return message
  const { value, problems } = await schemaProblems(topic.schema, message)
  if (problems === undefined) return value as T
  throw messagingErrors.create(
    'PLINTH_ERR_MESSAGING_INVALID_MESSAGE',
    `a message published to "${topic.name}" (declared at ${topic.site}) does not match its schema: ${problems.join('; ')}`,
    { details: { topic: topic.name, problems } },
  )
}
