/**
 * Row 9, plugins: a call from the host into a plugin and back, and plugin activation time.
 *
 *   npx tsc -b bench && node bench/dist/plugins/round-trip.js
 *   npx tsx --conditions=@plinth/source bench/src/plugins/round-trip.ts
 *
 * Contenders for one call (`echo(input) -> input`, a small object):
 * - direct: the handler function called and awaited in this process (the floor);
 * - trusted: the same plugin at the system level through PluginHost.call, in process;
 * - sandboxed: through PluginHost.call into the plugin's own process (JSON lines on a pipe, the
 *   capability checks, the deadline timer), in each isolation this machine offers;
 * - node ipc: a bare `child_process.fork` child answering `process.send` (Node's own IPC, no
 *   checks, no sandbox): what the transport alone costs;
 * and "sandboxed + host request": the plugin asks the host for a state key during the call
 * (two round trips). Each contender runs sequential calls (one in flight: latency) and 32 in
 * flight (throughput), in interleaved rounds; figures are medians over the rounds, in wall time
 * (a round trip waits on another process, so CPU time of this one would flatter it).
 */
import { fork } from 'node:child_process'
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PluginHost, availableIsolation, type Isolation } from '@plinth/plugins'
import { formatMs, formatOps, formatRatio, heading, table } from '../report.js'

const rounds = Number(process.env.BENCH_ROUNDS ?? 9)
const batchMs = Number(process.env.BENCH_BATCH_MS ?? 200)
const input = { device: 'thermo-1', metric: 'temperature', value: 21.5 }

const pluginSource = `export const handlers = {
  echo: (input) => input,
  echoState: async (input, host) => ({ input, unit: await host.state.get('unit') }),
}
`
const ipcChild = `process.on('message', (m) => process.send(m))`

type Call = () => Promise<unknown>
interface Contender {
  readonly name: string
  readonly call: Call
  close?(): Promise<void>
}

async function measure(call: Call, inFlight: number): Promise<{ ops: number; latencies: number[] }> {
  const latencies: number[] = []
  let done = 0
  const began = performance.now()
  const lane = async () => {
    while (performance.now() - began < batchMs) {
      const t = performance.now()
      await call()
      // A sample of the latencies is enough for percentiles; a direct call makes millions.
      if (done < 5_000) latencies.push(performance.now() - t)
      done++
    }
  }
  await Promise.all(Array.from({ length: inFlight }, lane))
  return { ops: (done / (performance.now() - began)) * 1000, latencies }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
const percentile = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))]!

async function pluginFolder(root: string, id: string, level: string): Promise<void> {
  const folder = join(root, id)
  await mkdir(folder, { recursive: true })
  await writeFile(join(folder, 'plugin.json'), JSON.stringify({ id, version: '1.0.0', entry: 'index.mjs', level, capabilities: ['state:read'], limits: { callTimeout: 10_000 } }))
  await writeFile(join(folder, 'index.mjs'), pluginSource)
}

async function main(): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), 'plinth-bench-plugins-'))
  await chmod(root, 0o755)
  await pluginFolder(root, 'sandboxed', 'read-only')
  await pluginFolder(root, 'trusted', 'system')
  await writeFile(join(root, 'ipc-child.cjs'), ipcChild)
  const isolations: Isolation[] = availableIsolation(process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : undefined) === 'namespaces' ? ['namespaces', 'process'] : ['process']

  const hosts: PluginHost[] = []
  const contenders: Contender[] = []
  const handlers = (await import(join(root, 'sandboxed', 'index.mjs'))) as { handlers: { echo: (i: unknown) => unknown } }
  contenders.push({ name: 'direct call', call: () => Promise.resolve(handlers.handlers.echo(input)) })
  for (const isolation of isolations) {
    const host = new PluginHost({ dirs: [root], dataDir: join(root, `data-${isolation}`), trusted: ['trusted'], isolation })
    await host.start()
    await host.services.state.set('unit', 'c')
    hosts.push(host)
    if (isolation === isolations[0]) contenders.push({ name: 'trusted (in process)', call: () => host.call('trusted', 'echo', input) })
    contenders.push({ name: `sandboxed (${isolation})`, call: () => host.call('sandboxed', 'echo', input) })
    contenders.push({ name: `sandboxed (${isolation}) + host request`, call: () => host.call('sandboxed', 'echoState', input) })
  }
  const child = fork(join(root, 'ipc-child.cjs'), [], { serialization: 'json', stdio: ['ignore', 'ignore', 'inherit', 'ipc'] })
  const waiting: ((m: unknown) => void)[] = []
  child.on('message', (m) => waiting.shift()?.(m))
  contenders.push({
    name: 'node ipc (fork, no sandbox)',
    call: () =>
      new Promise((resolve, reject) => {
        waiting.push(resolve)
        child.send(input, (error) => error && reject(error))
      }),
  })

  // Warm-up, then interleaved rounds in a rotating order.
  for (const c of contenders) {
    await measure(c.call, 1)
    await measure(c.call, 32)
  }
  const results = new Map<string, { seq: number[]; par: number[]; lat: number[] }>(contenders.map((c) => [c.name, { seq: [], par: [], lat: [] }]))
  for (let round = 0; round < rounds; round++) {
    for (let i = 0; i < contenders.length; i++) {
      const c = contenders[(i + round) % contenders.length]!
      const r = results.get(c.name)!
      const seq = await measure(c.call, 1)
      r.seq.push(seq.ops)
      for (const l of seq.latencies) r.lat.push(l)
      r.par.push((await measure(c.call, 32)).ops)
    }
  }
  const direct = median(results.get('direct call')!.seq)
  const rows = contenders.map((c) => {
    const r = results.get(c.name)!
    const seq = median(r.seq)
    return [c.name, formatMs(percentile(r.lat, 0.5) * 1000), formatMs(percentile(r.lat, 0.99) * 1000), formatOps(seq), formatOps(median(r.par)), formatRatio(direct / seq)]
  })

  // Activation: a fresh host per run, from start() to the plugin active (spawn, import, activate).
  const activation: string[][] = []
  for (const [name, id, isolation] of [['trusted (in process)', 'trusted', isolations[0]!], ...isolations.map((iso) => [`sandboxed (${iso})`, 'sandboxed', iso] as const)] as const) {
    const times: number[] = []
    for (let run = 0; run < 11; run++) {
      const dir = await mkdtemp(join(tmpdir(), 'plinth-bench-activate-'))
      await chmod(dir, 0o755)
      await pluginFolder(dir, id, id === 'trusted' ? 'system' : 'read-only')
      const host = new PluginHost({ dirs: [dir], dataDir: join(dir, 'data'), trusted: ['trusted'], isolation })
      const began = performance.now()
      await host.start()
      times.push(performance.now() - began)
      if (host.status()[0]?.state !== 'active') throw new Error(`${name}: not active: ${host.status()[0]?.reason ?? ''}`)
      await host.stop()
      await rm(dir, { recursive: true, force: true })
    }
    activation.push([name, formatMs(median(times)), formatMs(Math.min(...times)), formatMs(Math.max(...times))])
  }

  console.log(heading('9. Plugins: a call into a plugin and back'))
  console.log(`echo(input) of a small object; ${rounds} interleaved rounds of ${batchMs} ms per contender and mode; wall time.`)
  console.log('"1 in flight": sequential round trips (latency); "32 in flight": concurrent calls (throughput).\n')
  console.log(table(['contender', 'p50 µs', 'p99 µs', 'calls/s (1 in flight)', 'calls/s (32 in flight)', 'time vs direct'], rows))
  console.log('\nActivation: PluginHost.start() of one plugin to active (process spawn, import, activate); 11 runs.\n')
  console.log(table(['plugin', 'median ms', 'min ms', 'max ms'], activation))

  child.kill()
  for (const host of hosts) await host.stop()
  await rm(root, { recursive: true, force: true })
}

await main()
