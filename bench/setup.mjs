// Installs the bench's own dependencies (the peers Plinth is measured against: NestJS, inversify,
// Moleculer, ...) when they are missing or older than bench/package-lock.json. They are kept out
// of the repository's install, so a user of Plinth never downloads them; `npm run bench` at the
// root calls this first. Plinth's packages, fastify, pg and the rest come from the root install.
import { spawnSync } from 'node:child_process'
import { existsSync, statSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const bench = fileURLToPath(new URL('.', import.meta.url))
const lock = new URL('./package-lock.json', import.meta.url)
// npm writes this file after every install; older than the lock means the lock changed since.
const installed = new URL('./node_modules/.package-lock.json', import.meta.url)

if (!existsSync(new URL('../node_modules/@plinth/core', import.meta.url))) {
  console.error('bench: Plinth itself is not installed; run `npm install` at the repository root first, then `npm run bench`.')
  process.exit(1)
}
if (existsSync(installed) && statSync(installed).mtimeMs >= statSync(lock).mtimeMs) process.exit(0)

console.log('bench: installing the peers it measures Plinth against (bench/package-lock.json, once)...')
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm'
const result = spawnSync(npm, ['ci', '--no-audit', '--no-fund'], { cwd: bench, stdio: 'inherit', shell: process.platform === 'win32' })
if (result.status !== 0) {
  console.error(`bench: \`npm ci\` in ${bench} failed (exit ${result.status ?? result.signal}); fix what it printed above, then run \`npm run bench\` again.`)
  process.exit(result.status ?? 1)
}
