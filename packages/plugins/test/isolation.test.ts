/**
 * What the process boundary itself holds, without the sandbox runtime's JavaScript guards: a
 * probe script started exactly as plugins are (launchPlan) tries the file system, the network
 * and signalling the host.
 */
import { spawn } from 'node:child_process'
import { rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { availableIsolation, launchPlan, type Isolation } from '../src/index.js'
import { startServer, tempDir } from './helpers.js'

const probe = `
import net from 'node:net'
import fs from 'node:fs'
const [port, hostPid] = process.argv.slice(2).map(Number)
const result = {}
try { fs.readFileSync('/etc/hostname'); result.read = 'allowed' } catch (e) { result.read = e.code }
try { process.kill(hostPid, 0); result.signal = 'allowed' } catch (e) { result.signal = e.code }
result.net = await new Promise((resolve) => {
  const socket = net.connect(port, '127.0.0.1')
  socket.on('connect', () => { socket.destroy(); resolve('connected') })
  socket.on('error', (e) => resolve(e.code))
})
console.log(JSON.stringify(result))
`

const user = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : undefined

async function runProbe(folder: string, isolation: Isolation, port: number): Promise<Record<string, string>> {
  const file = join(folder, 'probe.mjs')
  const plan = launchPlan(folder, 64, isolation, file)
  const child = spawn(plan.command, [...plan.args, String(port), String(process.pid)], { env: {}, stdio: ['ignore', 'pipe', 'inherit'], ...(user ?? {}) })
  let out = ''
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()))
  await new Promise((resolve) => child.on('close', resolve))
  return JSON.parse(out) as Record<string, string>
}

describe('the process boundary without the runtime guards', () => {
  let folder: string
  let web: Awaited<ReturnType<typeof startServer>>
  beforeAll(async () => {
    folder = await tempDir('plinth-plugins-probe-')
    await writeFile(join(folder, 'probe.mjs'), probe)
    web = await startServer()
  })
  afterAll(async () => {
    await web.close()
    await rm(folder, { recursive: true, force: true })
  })

  it('as a plain process: the permission model denies reads outside the folder, but sockets connect (hence the runtime guards and namespaces)', async () => {
    const result = await runProbe(folder, 'process', web.port)
    expect(result.read).toBe('ERR_ACCESS_DENIED')
    expect(result.net).toBe('connected')
  })

  it.skipIf(availableIsolation(user) !== 'namespaces')('in namespaces: no network at all and no host process to signal', async () => {
    const result = await runProbe(folder, 'namespaces', web.port)
    expect(result).toEqual({ read: 'ERR_ACCESS_DENIED', signal: 'ESRCH', net: 'ENETUNREACH' })
  })
})
