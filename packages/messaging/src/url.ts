/** Broker URLs as users and logs may see them: with any password masked. */

/**
 * The URL with its password (and a token in the user part of a nats:// URL) replaced by `***`.
 *
 * @example
 * maskUrl('redis://:s3cret@cache:6379/0') // 'redis://:***@cache:6379/0'
 */
export function maskUrl(url: string): string {
  try {
    const parsed = new URL(url)
    if (parsed.password !== '') parsed.password = '***'
    else if (parsed.username !== '' && parsed.protocol === 'nats:') parsed.username = '***'
    return parsed.toString().replace(/\/$/, '')
  } catch {
    // Not a URL: show the scheme at most, since the rest may hold a secret.
    return url.replace(/\/\/.*$/, '//***')
  }
}
