import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { median } from '../http/load.js'

const entries = {
  'bare Fastify: import, one route, listen': './fastify.js',
  'Plinth: createApp with the HTTP server, start()': './plinth.js',
  'Plinth, the same serving /docs in production': './plinth-docs.js',
} as const

/** Milliseconds from spawning `node <entry>` to its READY line. */
function timeToReady(entry: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const began = performance.now()
    const child = spawn(process.execPath, [fileURLToPath(new URL(entry, import.meta.url))], { stdio: ['ignore', 'pipe', 'inherit'] })
    let output = ''
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString()
      if (output.includes('READY\n')) resolve(performance.now() - began)
    })
    child.once('exit', (code) => {
      if (!output.includes('READY\n')) reject(new Error(`${entry} exited with code ${code} before READY`))
    })
  })
}

/**
 * Row 8: process start to ready. Each entry is a fresh `node` process, timed from spawn to the
 * line it prints once it serves (Fastify's listen resolved; Plinth's start() resolved, after
 * config, bootstrap, validation and the HTTP server with its defaults: probes, problem details,
 * metrics, security headers; APP_ENV=production, so no OpenAPI docs unless asked). Interleaved, after one untimed run of each to warm
 * the file cache. Target: Plinth within 100 ms of bare Fastify.
 */
export async function startupRow(rounds = 11): Promise<string> {
  const names = Object.keys(entries) as (keyof typeof entries)[]
  for (const name of names) await timeToReady(entries[name])
  const times = new Map(names.map((name) => [name, [] as number[]]))
  for (let round = 0; round < rounds; round++) {
    for (let i = 0; i < names.length; i++) {
      const name = names[(i + round) % names.length]!
      times.get(name)!.push(await timeToReady(entries[name]))
    }
  }
  const base = median(times.get(names[0]!)!)
  const lines = ['', `8. Process start to ready: a fresh node process each time, median of ${rounds} interleaved runs`, `   ${'entry'.padEnd(50)} ${'median ms'.padEnd(10)} ${'min ms'.padEnd(8)} over Fastify`]
  for (const name of names) {
    const values = times.get(name)!
    const m = median(values)
    lines.push(`   ${name.padEnd(50)} ${m.toFixed(0).padEnd(10)} ${Math.min(...values).toFixed(0).padEnd(8)} ${name === names[0] ? '' : `+${(m - base).toFixed(0)} ms`}`)
  }
  return lines.join('\n')
}
