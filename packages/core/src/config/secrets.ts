import { isPlainObject } from './keys.js'

/** What a secret is replaced by in `redacted()`, error messages and log lines. */
export const REDACTED = '[redacted]'

// Names that hold secrets by convention, so that an `ai.apiKey` nobody listed is still hidden.
// It over-matches (`maxTokens`, `bypass`): showing "[redacted]" for a harmless number is a far
// smaller cost than printing one real key to a log aggregator.
const secretName = /pass(word)?|secret|token|api[-_]?key|private[-_]?key|credential/i

/** True when `path` is listed in `secrets`, lies under a listed path, or ends in a secret name. */
export function isSecret(secrets: readonly string[], path: string): boolean {
  for (const listed of secrets) {
    if (path === listed || path.startsWith(`${listed}.`) || path.startsWith(`${listed}[`)) return true
  }
  const last = path.replace(/\[\d+\]/g, '').split('.').pop() ?? ''
  return secretName.test(last)
}

/** A copy of `value` with every secret replaced; objects other than plain ones are kept as they are. */
export function redactValue(value: unknown, secrets: readonly string[], prefix = ''): unknown {
  if (typeof value === 'string') return maskUrls(value)
  if (Array.isArray(value)) return value.map((item, index) => redactValue(item, secrets, `${prefix}[${index}]`))
  if (!isPlainObject(value)) return value
  const out: Record<string, unknown> = {}
  for (const [key, child] of Object.entries(value)) {
    const path = prefix === '' ? key : `${prefix}.${key}`
    out[key] = isSecret(secrets, path) ? REDACTED : redactValue(child, secrets, path)
  }
  return out
}

/**
 * pino redact paths for config key paths: the path itself (`log.info(config)`) and the path one
 * object down (`log.info({ config })`, `{ settings }`), because pino's wildcard covers one level.
 */
export function pinoRedactPaths(paths: Iterable<string>): string[] {
  const out = new Set<string>()
  for (const path of paths) {
    const expression = path
      .split('.')
      .map((segment, index) => {
        if (/^[A-Za-z_$][\w$]*$/.test(segment)) return index === 0 ? segment : `.${segment}`
        if (!segment.includes(',') && !segment.includes('"')) return `["${segment}"]`
        if (!segment.includes(',') && !segment.includes("'")) return `['${segment}']`
        // pino's path syntax has no escapes; a wildcard hides the siblings too, which errs the safe way.
        return index === 0 ? '*' : '.*'
      })
      .join('')
    out.add(expression)
    out.add(expression.startsWith('[') ? `*${expression}` : `*.${expression}`)
  }
  return [...out]
}

// Query parameters that carry credentials by convention (`?api_key=`, `?access_token=`, `?sig=`).
const secretParam = /^(?:key|sig|signature|auth|code)$|pass(word)?|secret|token|api[-_]?key|private[-_]?key|credential/i
// Read by pattern, not with new URL(): a mistyped URL (`https//...`) is the one an error message prints.
const userInfoPassword = /\/\/[^/\s:@"'<>]*:([^@\s/"'<>]+)@/g
const queryParameter = /[?&]([^=&#\s"'<>]+)=([^&#\s"'<>]*)/g

/**
 * The secrets URLs in `text` carry: the password of their user info, and the values of
 * key-like query parameters, as written and decoded.
 *
 * @example
 * secretsInUrls('https://u:hunter2@api.example/v1?api_key=sk-123&page=2') // ['hunter2', 'sk-123']
 */
export function secretsInUrls(text: string): string[] {
  const found = new Set<string>()
  for (const [, password] of text.matchAll(userInfoPassword)) found.add(password!).add(safeDecode(password!))
  for (const [, name, value] of text.matchAll(queryParameter)) if (value !== '' && secretParam.test(safeDecode(name!))) found.add(value!).add(safeDecode(value!))
  return [...found].filter((value) => value.length >= minSecretLength)
}

/**
 * `text` with the credentials of every URL in it masked (see {@link secretsInUrls}).
 *
 * @example
 * maskUrls('https://api.example/v1?api_key=sk-123') // 'https://api.example/v1?api_key=[redacted]'
 */
export function maskUrls(text: string): string {
  const secrets = secretsInUrls(text)
  return secrets.length === 0 ? text : scrub(text, secrets)
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text)
  } catch {
    return text
  }
}

// Very short values would blank out unrelated digits of a message ("expected >= 1").
const minSecretLength = 3

/**
 * Removes secret values from a validator's message: valibot, for one, quotes the received value
 * ("Expected number but received \"hunter2\""), which must not reach a terminal or a log.
 */
export function scrub(message: string, secretValues: readonly unknown[]): string {
  let text = message
  for (const value of secretValues) {
    if (typeof value !== 'string' && typeof value !== 'number') continue
    const raw = String(value)
    if (raw.length < minSecretLength) continue
    // Quoted, as written, and escaped inside a JSON string (a log line, a response body).
    const quoted = JSON.stringify(raw)
    const escaped = quoted.slice(1, -1)
    if (text.includes(raw)) text = text.replaceAll(quoted, JSON.stringify(REDACTED)).replaceAll(raw, REDACTED)
    if (escaped !== raw && text.includes(escaped)) text = text.replaceAll(escaped, REDACTED)
  }
  return text
}
