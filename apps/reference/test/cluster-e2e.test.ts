/**
 * Three instances of the service as real processes, registered in Redis: traffic from one to
 * the others through the discovery client; one is SIGKILLed and the traffic moves to the two
 * left with no failed idempotent call; one is SIGTERMed and leaves the rotation (draining)
 * while it still serves, before it stops.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { probeService } from '@plinth/core/testing'
import { Redis } from 'ioredis'
import { afterAll, describe, expect, it } from 'vitest'
import { eventually, freePorts, unique } from './service.js'

const main = fileURLToPath(new URL('../src/main.ts', import.meta.url))
const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href
const redis = await probeService('Redis', { host: '127.0.0.1', port: 6379 })
const prefix = unique('plinth-test:cluster')

interface Instance {
  readonly child: ChildProcess
  readonly http: string
  readonly exited: Promise<number | null>
  output(): string
}

const cwds: string[] = []
const children: ChildProcess[] = []

async function startInstance(appEnv: 'development' | 'production'): Promise<Instance> {
  const cwd = await mkdtemp(join(tmpdir(), 'plinth-cluster-'))
  cwds.push(cwd)
  const child = spawn(process.execPath, ['--conditions=@plinth/source', '--import', tsx, main], {
    cwd,
    env: { PATH: process.env.PATH, APP_ENV: appEnv, ...freePorts, REDIS_URL: 'redis://127.0.0.1:6379', DISCOVERY_PREFIX: prefix, DISCOVERY_TTL: '2000' },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  children.push(child)
  let output = ''
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()))
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()))
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  const ready = await new Promise<string>((resolve, reject) => {
    const poll = setInterval(() => {
      const line = output.split('\n').find((l) => l.includes('"msg":"ready in'))
      if (line === undefined) return
      clearInterval(poll)
      resolve(line)
    }, 50)
    void exited.then(() => {
      clearInterval(poll)
      reject(new Error(`an instance exited before it was ready:\n${output}`))
    })
  })
  const endpoints = (JSON.parse(ready) as { endpoints: { name: string; url: string }[] }).endpoints
  return { child, http: endpoints.find((e) => e.name === 'http')!.url, exited, output: () => output }
}

async function get<T>(url: string): Promise<{ status: number; body: T }> {
  const response = await fetch(url)
  return { status: response.status, body: (await response.json()) as T }
}

interface ClusterView {
  self: { id: string; registration: string }
  services: { service: string; instances: { id: string; draining: boolean; routable: boolean }[] }[]
}
const idOf = async (instance: Instance) => (await get<{ id: string }>(`${instance.http}/api/v1/cluster/whoami`)).body.id
const viewFrom = async (instance: Instance) => (await get<ClusterView>(`${instance.http}/api/v1/cluster`)).body.services.find((s) => s.service === 'reference')?.instances ?? []

afterAll(async () => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL')
  await Promise.all(cwds.map((cwd) => rm(cwd, { recursive: true, force: true })))
  if (redis.available) {
    const client = new Redis('redis://127.0.0.1:6379')
    const keys = await client.keys(`${prefix}:*`)
    if (keys.length > 0) await client.del(...keys)
    await client.quit()
  }
})

describe.skipIf(!redis.available)(redis.title('three instances in Redis'), () => {
  it('moves traffic off a SIGKILLed instance with no failed idempotent call, and takes a SIGTERMed one out of rotation before it stops serving', async () => {
    // C runs as in production: a 5 s drain delay between SIGTERM and its listeners closing.
    const [a, b, c] = await Promise.all([startInstance('development'), startInstance('development'), startInstance('production')])
    const [idA, idB, idC] = await Promise.all([idOf(a), idOf(b), idOf(c)])
    await eventually(async () => ((await viewFrom(a)).length === 3 ? true : undefined), 15_000, 'A seeing three instances')

    const relay = async (count: number) => {
      const answers: string[] = []
      for (let i = 0; i < count; i++) {
        const { status, body } = await get<{ answeredBy: string; status: number }>(`${a.http}/api/v1/cluster/relay`)
        expect(status, `relay ${i}: ${JSON.stringify(body)}`).toBe(200)
        answers.push(body.answeredBy)
      }
      return answers
    }

    // Round robin from A reaches every instance, A included.
    expect(new Set(await relay(9))).toEqual(new Set([idA, idB, idC]))

    b.child.kill('SIGKILL')
    await b.exited
    // Every call succeeds: those that picked B were retried on another instance.
    const afterKill = await relay(30)
    expect(afterKill.filter((id) => id === idB)).toEqual([])
    expect(new Set(afterKill)).toEqual(new Set([idA, idC]))
    // B's lease lapses (2 s) and it leaves the registry.
    await eventually(async () => ((await viewFrom(a)).some((i) => i.id === idB) ? undefined : true), 15_000, "B's registration lapsing")

    c.child.kill('SIGTERM')
    // C is marked draining while it still serves...
    await eventually(async () => ((await viewFrom(a)).find((i) => i.id === idC)?.draining === true ? true : undefined), 4_000, 'C marked draining')
    expect((await get<{ id: string }>(`${c.http}/api/v1/cluster/whoami`)).status).toBe(200)
    // ...so new calls from A no longer go to it.
    expect(new Set(await relay(6))).toEqual(new Set([idA]))
    expect(await c.exited).toBe(0)
    expect(new Set(await relay(3))).toEqual(new Set([idA]))
  }, 120_000)
})
