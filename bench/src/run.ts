import { cpus } from 'node:os'
import { bootRowInWorker } from './boot.js'
import { parseArgs, runContainerRows } from './container.js'
import { cqrsRow } from './cqrs.js'
import { defaultHttpOptions, httpRows, quickHttpOptions } from './http/rows.js'
import { startupRow } from './startup/row.js'

/**
 * `npm run bench` at the repository root: every row, Plinth side by side with its peers, in one
 * run. `node bench/dist/run.js --quick` gives a rough look in a quarter of the time;
 * `--row=2,3` runs some rows only (5 is the boot, 6 the HTTP rows, 8 process start to ready, 9 the
 * event store and command bus). The database overhead runs on
 * its own: `node bench/dist/db/query-overhead.js`.
 */
const options = parseArgs(process.argv.slice(2))
const began = performance.now()
const cpu = cpus()
console.log(`Plinth benchmarks, ${new Date().toISOString()}`)
console.log(`Node ${process.version} (V8 ${process.versions.v8}), ${process.platform}/${process.arch}, ${cpu.length} x ${cpu[0]?.model.trim() ?? 'unknown CPU'}`)
console.log('ops/s: median of interleaved batches, each library in its own worker thread, per second of process CPU time')
console.log('(CPU) and of wall-clock time (wall); ± is the median absolute deviation of the CPU figure.')
console.log('"time vs X": CPU time per op divided by X\'s; above 1.00x is slower than X.')
await runContainerRows(options)
if (!options.only || options.only.includes(5)) console.log(await bootRowInWorker())
if (!options.only || options.only.includes(6)) console.log(await httpRows((options.scale ?? 1) < 1 ? quickHttpOptions : defaultHttpOptions))
if (!options.only || options.only.includes(8)) console.log(await startupRow((options.scale ?? 1) < 1 ? 5 : 11))
if (!options.only || options.only.includes(9)) console.log(await cqrsRow(options.scale ?? 1))
console.log(`\nTotal ${((performance.now() - began) / 1000).toFixed(0)} s`)
