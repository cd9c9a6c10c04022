import { Histogram, Registry, type Metric } from 'prom-client'
import { describe, expect, it } from 'vitest'
import { BoundHistogram } from '../src/metrics/histogram.js'

const buckets = [0.005, 0.01, 0.1, 1]
const config = { name: 'job_duration_seconds', help: 'Job run time', labelNames: ['queue', 'outcome'] as const, buckets }

/** The same observations in a prom-client Histogram and a BoundHistogram, each in a registry of its own. */
async function renderBoth(observations: [Record<string, string>, number][], contentType?: string) {
  const ours = new Registry()
  const theirs = new Registry()
  if (contentType) {
    ours.setContentType(contentType as never)
    theirs.setContentType(contentType as never)
  }
  const bound = new BoundHistogram({ ...config, labelNames: [...config.labelNames] })
  ours.registerMetric(bound as unknown as Metric)
  const reference = new Histogram({ ...config, labelNames: [...config.labelNames], registers: [theirs] })
  for (const [labels, value] of observations) {
    bound.series(labels).observe(value)
    reference.observe(labels, value)
  }
  return { ours: await ours.metrics(), theirs: await theirs.metrics(), json: [await ours.getMetricsAsJSON(), await theirs.getMetricsAsJSON()] as const }
}

describe('BoundHistogram', () => {
  const observations: [Record<string, string>, number][] = [
    [{ queue: 'emails', outcome: 'ok' }, 0.003],
    [{ queue: 'emails', outcome: 'ok' }, 0.2],
    [{ queue: 'emails', outcome: 'failed' }, 5],
    [{ queue: 'reports', outcome: 'ok' }, 0.01],
  ]

  it('renders exactly what prom-client renders for the same observations, in both text formats and as JSON', async () => {
    const plain = await renderBoth(observations)
    expect(plain.ours).toBe(plain.theirs)
    // prom-client's JSON carries an empty exemplar slot per sample; the samples are the same.
    const withoutExemplars = (metrics: readonly { values: object[] }[]) => metrics.map((m) => ({ ...m, values: m.values.map(({ exemplar: _, ...sample }: { exemplar?: unknown }) => sample) }))
    expect(plain.json[0]).toEqual(withoutExemplars(plain.json[1]))
    const open = await renderBoth(observations, Registry.OPENMETRICS_CONTENT_TYPE)
    expect(open.ours).toBe(open.theirs)
  })

  it('keeps one series per label set, however often it is asked for', () => {
    const histogram = new BoundHistogram({ ...config, labelNames: [...config.labelNames] })
    expect(histogram.series({ queue: 'emails', outcome: 'ok' })).toBe(histogram.series({ outcome: 'ok', queue: 'emails' }))
    expect(histogram.series({ queue: 'emails' })).not.toBe(histogram.series({ queue: 'emails', outcome: '' }))
  })

  it('refuses a label it does not have, an unsorted or repeated bucket list, and a value that is not finite', () => {
    const histogram = new BoundHistogram({ ...config, labelNames: [...config.labelNames] })
    expect(() => histogram.series({ queu: 'emails' } as never)).toThrow('histogram "job_duration_seconds" has no label "queu"; its labels are [queue, outcome]')
    expect(() => new BoundHistogram({ ...config, buckets: [1, 1] })).toThrow('buckets must be distinct finite numbers; got [1, 1]')
    expect(() => histogram.series({ queue: 'emails' }).observe(Number.NaN)).toThrow('a histogram observes finite numbers; got NaN')
  })

  it('starts over on reset, as the registry asks on resetMetrics()', async () => {
    const registry = new Registry()
    const histogram = new BoundHistogram({ ...config, labelNames: [...config.labelNames] })
    registry.registerMetric(histogram as unknown as Metric)
    histogram.observe({ queue: 'emails' }, 0.5)
    registry.resetMetrics()
    expect(await registry.metrics()).not.toContain('job_duration_seconds_count')
  })
})
