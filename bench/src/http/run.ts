// The HTTP rows on their own: `node bench/dist/http/run.js [--quick]` after `npm run build`,
// or `npx tsx --conditions=@plinth/source bench/src/http/run.ts [--quick]` from the sources.
// `--rounds=15 --contenders=plinth-no-headers` runs row 6 alone, with those contenders and rounds.
import { cpus } from 'node:os'
import { contenders, type ContenderName } from './contenders.js'
import { defaultHttpOptions, jsonRouteRow, quickHttpOptions, readinessRow, sharedCoreRow, type HttpBenchOptions } from './rows.js'

const flag = (name: string) => process.argv.find((arg) => arg.startsWith(`--${name}=`))?.slice(name.length + 3)
const quick = process.argv.includes('--quick')
const rounds = flag('rounds')
const chosen = flag('contenders')?.split(',') as ContenderName[] | undefined
for (const name of chosen ?? []) if (!(name in contenders)) throw new Error(`unknown contender "${name}"; one of: ${Object.keys(contenders).join(', ')}`)
if (rounds !== undefined && !(Number(rounds) >= 1)) throw new Error(`--rounds takes a whole number of rounds, 1 or more; got "${rounds}"`)
const cpu = cpus()
console.log(`Plinth HTTP benchmarks, ${new Date().toISOString()}`)
console.log(`Node ${process.version}, ${process.platform}/${process.arch}, ${cpu.length} x ${cpu[0]?.model.trim() ?? 'unknown CPU'}`)
const options: HttpBenchOptions = {
  ...(quick ? quickHttpOptions : defaultHttpOptions),
  ...(rounds === undefined ? {} : { rounds: Math.floor(Number(rounds)) }),
  ...(chosen === undefined ? {} : { contenders: chosen }),
}
console.log(await jsonRouteRow(options))
console.log(await sharedCoreRow(options))
// The readiness row only with the whole set: a chosen few are a closer look at row 6.
if (chosen === undefined) console.log(await readinessRow(options))
