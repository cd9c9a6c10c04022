/**
 * The bus's preflight check, one per messaging(): the broker that MESSAGING_URL (else NATS_URL,
 * else REDIS_URL) names answers, its URL printed with the password masked. A bus in memory is
 * fine for one process and a warning in production, where instances then share no events.
 */
import { definePreflight, type PreflightCheck, type PreflightOutcome, type Token } from '@plinth/core'
import type { Bus } from './bus.js'
import { connectForCheck } from './check-connection.js'
import { busSources, messagingProviders } from './component.js'

function brokerCheck(target: Token<unknown>): PreflightCheck {
  return {
    category: 'external',
    name: 'message broker reachable',
    run: async (context): Promise<PreflightOutcome> => {
      const bus = (await context.resolve(target)) as Bus
      const source = busSources.get(bus) ?? 'default'
      if (bus.backend === 'memory') {
        return context.production
          ? { status: 'warn', found: 'in memory: events stay in this process, instances share none', fix: 'set MESSAGING_URL (nats://... or redis://...) to the broker every instance reaches' }
          : { status: 'pass', found: 'in memory (no MESSAGING_URL, NATS_URL or REDIS_URL)' }
      }
      context.onCleanup(() => bus.stop())
      try {
        await connectForCheck(bus)
        const latency = await bus.broker.ping()
        return { status: 'pass', found: `${bus.backend} at ${bus.broker.url} answered in ${latency.toFixed(1)} ms` }
      } catch (error) {
        // The bus's error names the broker by its masked URL; a connection error's own text carries no password.
        const found = error instanceof Error ? error.message : String(error)
        return { status: 'fail', found: found.includes(bus.broker.url) ? found : `${bus.backend} at ${bus.broker.url}: ${found}`, fix: `start the broker, or correct the URL (from ${source}): host, port, credentials` }
      }
    },
  }
}

definePreflight(({ providers }) => providers.filter((p) => messagingProviders.has(p)).map((p) => brokerCheck(p.provides as Token<unknown>)))
