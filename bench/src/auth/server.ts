// One auth contender in its own process. Prints `LISTENING <url>`, serves until SIGTERM.
import { contenders, type AuthContender } from './contenders.js'

const name = process.argv[2] as AuthContender
const start = contenders[name]
if (!start) {
  process.stderr.write(`unknown contender "${name}"; one of: ${Object.keys(contenders).join(', ')}\n`)
  process.exit(2)
}
const running = await start()
process.stdout.write(`LISTENING ${running.url}\n`)
process.once('SIGTERM', () => {
  void running.close().then(() => process.exit(0))
})
