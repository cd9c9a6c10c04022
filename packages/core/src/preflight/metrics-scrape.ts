/**
 * The monitoring check's scrape: each endpoint the app declares is scraped over HTTP where a
 * running instance answers; where nothing listens yet (before a rollout) the registry is
 * rendered as the endpoint would render it, so that a collector that throws is still found.
 */
import type { MetricsEndpoint } from '../metrics/endpoints.js'
import type { MetricsRegistry } from '../metrics/metrics.js'
import { describe } from '../errors.js'
import { dialHost } from '../server/listen-address.js'
import type { PreflightContext, PreflightOutcome } from './check.js'

const samplesIn = (body: string) => body.split('\n').filter((line) => line !== '' && !line.startsWith('#')).length

type Scrape = { kind: 'scraped'; url: string; samples: number } | { kind: 'absent'; url: string } | { kind: 'failed'; url: string; found: string }

async function scrape(endpoint: MetricsEndpoint, context: PreflightContext): Promise<Scrape | undefined> {
  const address = endpoint.address?.({ env: context.env, config: context.config })
  if (!address || address.port === 0) return undefined
  const url = `http://${dialHost(address.host)}:${address.port}${address.path}`
  let response: Response
  try {
    response = await fetch(url, { signal: context.signal })
  } catch (error) {
    const code = (error as { cause?: { code?: string } }).cause?.code
    if (code === 'ECONNREFUSED') return { kind: 'absent', url }
    return { kind: 'failed', url, found: `${url}: ${code ?? describe(error)}` }
  }
  const body = await response.text()
  if (response.status !== 200) return { kind: 'failed', url, found: `${url} answered ${response.status}` }
  if (!/^# (HELP|TYPE) /m.test(body)) return { kind: 'failed', url, found: `${url} answered 200 with no Prometheus exposition` }
  return { kind: 'scraped', url, samples: samplesIn(body) }
}

/** Scrapes every declared endpoint; renders the registry for those that nothing serves yet. */
export async function scrapeEndpoints(endpoints: readonly MetricsEndpoint[], context: PreflightContext, registry: () => Promise<MetricsRegistry>): Promise<PreflightOutcome> {
  const results = await Promise.all(endpoints.map(async (endpoint) => ({ endpoint, scrape: await scrape(endpoint, context) })))
  const failed = results.filter((r) => r.scrape?.kind === 'failed')
  if (failed.length > 0) {
    return { status: 'fail', found: failed.map((r) => `${r.endpoint.where}: ${(r.scrape as { found: string }).found}`).join('; '), fix: 'something else answers where the metrics are declared, or the path is wrong: give the metrics their own port (METRICS_PORT) or correct the path Prometheus scrapes' }
  }
  const scraped = results.filter((r) => r.scrape?.kind === 'scraped')
  if (scraped.length > 0) return { status: 'pass', found: scraped.map((r) => `${r.endpoint.where}: scraped ${(r.scrape as { samples: number }).samples} samples from ${r.scrape!.url} (a running instance)`).join('; ') }
  // Nothing runs yet: what the endpoint would serve, with every collector read.
  try {
    const { body } = await (await registry()).render()
    const absent = results.map((r) => (r.scrape?.kind === 'absent' ? `${r.endpoint.where} (nothing listens on ${r.scrape.url} yet)` : r.endpoint.where))
    return { status: 'pass', found: `${absent.join('; ')}: scraped ${samplesIn(body)} samples` }
  } catch (error) {
    return { status: 'fail', found: `${endpoints.map((e) => e.where).join('; ')}: rendering the metrics failed: ${describe(error)}`, fix: 'a collector throws while read: fix the gauge or collect callback named in the message' }
  }
}
