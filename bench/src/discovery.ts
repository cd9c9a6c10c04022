/**
 * Picking an instance: nanoseconds per pick of each @plinth/discovery strategy with 3, 30 and
 * 300 instances, beside Moleculer 0.14's strategies where it has one (RoundRobin, Random, and
 * Shard, its consistent hashing), in one run.
 *
 *   npx tsc -b bench && node bench/dist/discovery.js
 *   npx tsx --conditions=@plinth/source bench/src/discovery.ts
 *
 * Each pick is from the same list object (as a client picks from its cached view); the hashing
 * rows pick with a key from a cycle of 10 000 keys. Contenders are measured in rotating order,
 * round after round, in process CPU time; the figure is the median over the rounds.
 */
import { createRequire } from 'node:module'
import { ConsistentHash, LeastConnections, RandomPick, RoundRobin, WeightedRoundRobin, type Balancer, type ServiceInstance } from '@plinth/discovery'
import { table } from './report.js'

const require = createRequire(import.meta.url)
interface MoleculerStrategy {
  select(list: readonly { id: string }[], ctx?: unknown): { id: string } | undefined
}
type StrategyClass = new (registry: unknown, broker: unknown, opts?: unknown) => MoleculerStrategy
const { Strategies, ServiceBroker } = require('moleculer') as { Strategies: { RoundRobin: StrategyClass; Random: StrategyClass; Shard: StrategyClass }; ServiceBroker: { MOLECULER_VERSION: string } }
const moleculerVersion = ServiceBroker.MOLECULER_VERSION
// What a strategy's constructor reads of the broker: Shard listens for node changes to rebuild its ring.
const broker = { localBus: { on: () => {} }, Promise }

const quick = process.argv.includes('--quick')
const rounds = quick ? 5 : 15
const batch = quick ? 20_000 : 100_000
const keys = Array.from({ length: 10_000 }, (_, i) => `user-${i}`)

interface Contender {
  readonly strategy: string
  readonly library: 'plinth' | 'moleculer'
  /** Runs `count` picks and returns something derived from them, so the loop is not optimised away. */
  readonly run: (count: number) => number
}

function instances(n: number): ServiceInstance[] {
  return Array.from({ length: n }, (_, i) => ({ service: 'orders', id: `orders-${i}`, addresses: { http: `http://10.0.${i >> 8}.${i & 255}:8000` }, version: '1', metadata: {}, health: 'passing', draining: false, weight: 1 + (i % 5) }))
}

type PickLoop = (count: number) => number

/**
 * The loop of one contender, compiled on its own: closures of one function literal share V8's
 * type feedback, so a loop shared by every strategy would see five classes at its call site
 * (megamorphic) and measure the dispatch instead of the pick.
 */
function pickLoop(pick: string, picker: unknown, list: readonly ServiceInstance[]): PickLoop {
  // eslint-disable-next-line @typescript-eslint/no-implied-eval -- a fresh function per contender, see above
  const make = new Function('picker', 'list', 'keys', `let k = 0
    return function run(count) {
      let sum = 0
      for (let i = 0; i < count; i++) {
        const key = keys[k++ % keys.length]
        const picked = ${pick}
        sum += picked.weight
      }
      return sum
    }`) as (picker: unknown, list: readonly ServiceInstance[], keys: readonly string[]) => PickLoop
  return make(picker, list, keys)
}

function plinth(strategy: string, balancer: Balancer, list: ServiceInstance[], keyed: boolean): Contender {
  return { strategy, library: 'plinth', run: pickLoop(keyed ? 'picker.pick(list, { key })' : 'picker.pick(list)', balancer, list) }
}

// Least connections as a client uses it: each pick brackets a call (begin, end).
function plinthLeastConnections(list: ServiceInstance[]): Contender {
  const pick = '((p) => (picker.begin(p), picker.end(p), p))(picker.pick(list))'
  return { strategy: 'least-connections', library: 'plinth', run: pickLoop(pick, new LeastConnections(), list) }
}

function moleculer(strategy: string, selector: MoleculerStrategy, list: ServiceInstance[], keyed: boolean): Contender {
  return { strategy, library: 'moleculer', run: pickLoop(keyed ? 'picker.select(list, { params: { key } })' : 'picker.select(list)', selector, list) }
}

function cpuNow(): number {
  const { user, system } = process.cpuUsage()
  return (user + system) * 1_000 // nanoseconds
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)]!
}

let sink = 0
const rows: string[][] = []
for (const n of [3, 30, 300]) {
  const list = instances(n)
  const contenders: Contender[] = [
    plinth('round-robin', new RoundRobin(), list, false),
    moleculer('round-robin', new Strategies.RoundRobin({}, broker, {}), list, false),
    plinth('random', new RandomPick(), list, false),
    moleculer('random', new Strategies.Random({}, broker, {}), list, false),
    plinth('consistent-hash', new ConsistentHash(), list, true),
    moleculer('consistent-hash', new Strategies.Shard({}, broker, { shardKey: 'key' }), list, true),
    plinth('weighted-round-robin', new WeightedRoundRobin(), list, false),
    plinthLeastConnections(list),
  ]
  // Warm-up: long enough for the optimising compiler to settle on every loop.
  for (const contender of contenders) sink += contender.run(batch)
  const samples = new Map<Contender, number[]>(contenders.map((c) => [c, []]))
  for (let round = 0; round < rounds; round++) {
    for (let j = 0; j < contenders.length; j++) {
      const contender = contenders[(j + round) % contenders.length]!
      const started = cpuNow()
      sink += contender.run(batch)
      samples.get(contender)!.push((cpuNow() - started) / batch)
    }
  }
  for (const strategy of ['round-robin', 'least-connections', 'weighted-round-robin', 'consistent-hash', 'random']) {
    const ours = contenders.find((c) => c.strategy === strategy && c.library === 'plinth')!
    const theirs = contenders.find((c) => c.strategy === strategy && c.library === 'moleculer')
    const oursNs = median(samples.get(ours)!)
    const theirsNs = theirs ? median(samples.get(theirs)!) : undefined
    rows.push([
      strategy,
      String(n),
      oursNs.toFixed(1),
      theirsNs === undefined ? '-' : theirsNs.toFixed(1),
      theirsNs === undefined ? '(no peer)' : `${(oursNs / theirsNs).toFixed(2)}x`,
    ])
  }
}

console.log(`Picking an instance: ns per pick (median of ${rounds} rounds of ${batch} picks, process CPU time), Node ${process.version}, moleculer ${moleculerVersion}`)
console.log('Moleculer has no least-connections or weighted round robin strategy; its Shard is consistent hashing (md5, 10 vnodes, LRU of 1 000 keys).')
console.log(table(['strategy', 'instances', 'plinth ns', 'moleculer ns', 'plinth time vs moleculer'], rows))
if (sink === 0) console.log('')
