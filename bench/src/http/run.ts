// The HTTP rows on their own: `node bench/dist/http/run.js [--quick]` after `npm run build`,
// or `npx tsx --conditions=@plinth/source bench/src/http/run.ts [--quick]` from the sources.
import { cpus } from 'node:os'
import { defaultHttpOptions, jsonRouteRow, quickHttpOptions, readinessRow } from './rows.js'

const quick = process.argv.includes('--quick')
const cpu = cpus()
console.log(`Plinth HTTP benchmarks, ${new Date().toISOString()}`)
console.log(`Node ${process.version}, ${process.platform}/${process.arch}, ${cpu.length} x ${cpu[0]?.model.trim() ?? 'unknown CPU'}`)
const options = quick ? quickHttpOptions : defaultHttpOptions
console.log(await jsonRouteRow(options))
console.log(await readinessRow(options))
