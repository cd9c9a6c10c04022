// Instructions per request on the JSON route, counted by valgrind's callgrind: the same figure
// run after run, whatever else the machine does, where requests per second on a shared VM move by
// ±10% between identical runs. `node bench/dist/http/instructions.js [contender ...]` after
// `npm run build` (default: fastify plinth-no-headers plinth nest). Each contender's server runs
// under callgrind with counting off; after a warm-up that lets V8 compile the hot paths, counting
// is switched on for a fixed number of keep-alive requests, then off. Counts are of user space
// only (the kernel's share, the same for every server, is not in them) and of the main thread,
// where requests are served: V8's background compiler threads, which under valgrind go on
// compiling long after the warm-up (a process at full speed is long done), are left out.
import { execFileSync, spawn } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { Agent, get } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { contenders, type ContenderName } from './contenders.js'

const WARM_UP = 60_000
const COUNTED = 20_000

/** Sends `count` GET requests over ten keep-alive connections and waits for every response. */
async function load(url: string, count: number): Promise<void> {
  const agent = new Agent({ keepAlive: true, maxSockets: 10 })
  let sent = 0
  let done = 0
  await new Promise<void>((resolve, reject) => {
    const next = () => {
      if (sent === count) return
      sent++
      get(url, { agent }, (response) => {
        response.resume().on('end', () => (++done === count ? resolve() : next()))
      }).on('error', reject)
    }
    for (let i = 0; i < 10; i++) next()
  })
  agent.destroy()
}

/** The user-space instructions one request of a contender costs, averaged over COUNTED requests. */
async function instructionsPerRequest(name: ContenderName): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'plinth-callgrind-'))
  const server = fileURLToPath(new URL('./server.js', import.meta.url))
  const child = spawn('valgrind', ['--tool=callgrind', '--instr-atstart=no', '--separate-threads=yes', `--callgrind-out-file=${join(dir, 'out.%p')}`, process.execPath, server, name], { stdio: ['ignore', 'pipe', 'pipe'] })
  try {
    const url = await new Promise<string>((resolve, reject) => {
      let out = ''
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
        out += chunk
        const match = /LISTENING (\S+)/.exec(out)
        if (match) resolve(match[1]!)
      })
      child.once('exit', (code) => reject(new Error(`${name} under valgrind exited (${code}) before listening`)))
    })
    await load(`${url}/json`, WARM_UP)
    const control = (option: string) => execFileSync('callgrind_control', [option, String(child.pid)], { stdio: 'ignore' })
    control('--instr=on')
    await load(`${url}/json`, COUNTED)
    control('--instr=off')
    control('--dump')
    // One file per thread and dump, named out.<pid>.<dump>-<thread>; thread 1 is the main thread.
    const main = readdirSync(dir).filter((file) => file.endsWith('-01'))
    const total = main.reduce((sum, file) => sum + Number(/^totals: (\d+)/m.exec(readFileSync(join(dir, file), 'utf8'))?.[1] ?? 0), 0)
    return total / COUNTED
  } finally {
    child.kill('SIGKILL')
    rmSync(dir, { recursive: true, force: true })
  }
}

const requested = process.argv.slice(2)
const names = (requested.length > 0 ? requested : ['fastify', 'plinth-no-headers', 'plinth', 'nest']) as ContenderName[]
for (const name of names) if (!(name in contenders)) throw new Error(`unknown contender "${name}"; one of: ${Object.keys(contenders).join(', ')}`)
try {
  execFileSync('valgrind', ['--version'], { stdio: 'ignore' })
} catch {
  console.log('valgrind is not installed (Debian package valgrind): no instruction counts.')
  process.exit(0)
}
console.log(`Instructions per request on the JSON route (callgrind, ${WARM_UP} requests of warm-up, ${COUNTED} counted, 10 keep-alive connections)`)
let base: number | undefined
for (const name of names) {
  const perRequest = await instructionsPerRequest(name)
  base ??= perRequest
  console.log(`${name.padEnd(24)} ${Math.round(perRequest).toLocaleString('en-US').padStart(8)}  ${(perRequest / base).toFixed(3)}x of ${names[0]}`)
}
