/**
 * What the process boundary itself holds, without the sandbox runtime's JavaScript guards: a
 * probe script started exactly as plugins are (launchPlan) tries the file system, the network
 * and signalling the host.
 */
import { spawn } from 'node:child_process'
import { rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest'
import { availableIsolation, launchPlan, readTreeResidentBytes, treeResidentBytes, type Isolation } from '../src/index.js'
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

describe.skipIf(process.platform !== 'linux')('resident memory of a process tree, as the memory watchdog reads it', () => {
  // A parent that holds little and a child of its own that holds 96 MiB it has written to.
  const parent = `
const { spawn } = require('node:child_process')
const child = spawn(process.execPath, ['-e', 'globalThis.held = Buffer.alloc(96 * 2 ** 20, 1); process.stdout.write("held"); setInterval(() => {}, 1000)'], { stdio: ['ignore', 'pipe', 'inherit'] })
child.stdout.once('data', () => process.stdout.write('ready'))
process.on('SIGTERM', () => { child.kill(); process.exit(0) })
setInterval(() => {}, 1000)
`

  it('counts the descendants, reads alike with and without blocking, and is undefined once the process is gone', async () => {
    const tree = spawn(process.execPath, ['-e', parent], { stdio: ['ignore', 'pipe', 'inherit'] })
    const exited = new Promise((resolve) => tree.once('exit', resolve))
    // Whatever an assertion does, the tree does not outlive the test (the parent ends its child on SIGTERM).
    onTestFinished(() => void tree.kill('SIGTERM'))
    await new Promise((resolve) => tree.stdout.once('data', resolve))
    const sync = treeResidentBytes(tree.pid!)
    const async = await readTreeResidentBytes(tree.pid!)
    expect(async).toBeGreaterThan(96 * 2 ** 20)
    expect(Math.abs(async! - sync!)).toBeLessThan(16 * 2 ** 20)
    tree.kill('SIGTERM')
    await exited
    expect(await readTreeResidentBytes(tree.pid!)).toBeUndefined()
    expect(treeResidentBytes(tree.pid!)).toBeUndefined()
  })
})
