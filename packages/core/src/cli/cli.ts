import { parseArgs, type ParseArgsConfig } from 'node:util'
import type { App } from '../app/app.js'
import { formatProblems } from '../container/container.js'
import { PlinthError, isPlinthError, reportError } from '../errors.js'
import { renderGraph, type GraphFormat } from '../container/render-graph.js'
import { handleProcessSignals } from '../lifecycle/shutdown.js'
import { recordTrace } from '../lifecycle/trace.js'
import { watchLoading } from '../modules/load-failure.js'

// The app's own files load after this one: a failure among them is reported as Plinth's (see watchLoading).
const stopWatchingLoading = watchLoading()

/** Exit codes: sysexits' EX_CONFIG for invalid configuration, as systemd and operators expect. */
export const ExitCode = { ok: 0, failure: 1, usage: 2, config: 78, forced: 130 } as const

export interface CommandContext {
  readonly app: App
  /** Arguments after the command name. */
  readonly args: string[]
  readonly out: (text: string) => void
  readonly err: (text: string) => void
  /** The file the app was loaded from, when the \`plinth\` binary loaded it (\`plinth build\` compiles from it). */
  readonly appModule?: string
}

export interface Command {
  readonly summary: string
  readonly usage: string
  /** Resolves to the process exit code. */
  run(context: CommandContext): Promise<number>
}

const commands = new Map<string, Command>()

/**
 * Adds a command to `plinth` (packages add theirs: the database package adds `migrate`).
 *
 * @example
 * defineCommand('seed', { summary: 'fill the database with sample data', usage: 'plinth seed', run: async ({ app }) => 0 })
 */
export function defineCommand(name: string, command: Command): void {
  commands.set(name, command)
}

/** Splits `--trace FILE` style options the command knows from the rest, which go to the configuration. */
export function split<const T extends NonNullable<ParseArgsConfig['options']>>(args: string[], known: T): { values: ReturnType<typeof parseArgs<{ options: T; strict: false; allowPositionals: true }>>['values']; rest: string[] } {
  const { values, tokens } = parseArgs({ args, options: known, strict: false, tokens: true, allowPositionals: true })
  const rest: string[] = []
  for (const token of tokens) {
    if (token.kind === 'option' && token.name in known) continue
    if (token.kind === 'option') rest.push(token.rawName + (token.inlineValue && token.value !== undefined ? `=${token.value}` : ''))
    if (token.kind === 'option' && !token.inlineValue && token.value !== undefined) rest.push(token.value)
    if (token.kind === 'positional') rest.push(token.value)
  }
  return { values, rest }
}

function report(error: unknown, err: (text: string) => void): number {
  if (isPlinthError(error)) {
    err(error.describe())
    return error.code === 'PLINTH_ERR_INVALID_CONFIG' ? ExitCode.config : ExitCode.failure
  }
  err(error instanceof Error ? (error.stack ?? error.message) : String(error))
  return ExitCode.failure
}

defineCommand('check', {
  summary: 'validate configuration and the dependency graph without starting anything',
  usage: 'plinth check [--key=value ...]',
  async run({ app, args, out, err }) {
    try {
      const result = await app.check({ argv: args })
      for (const warning of result.warnings) err(`warning: ${warning}`)
      if (result.problems.length > 0) {
        err(`${result.problems.length} problem${result.problems.length === 1 ? '' : 's'}:\n${formatProblems(result.problems)}`)
        return ExitCode.failure
      }
      out(`ok: configuration valid${result.config ? ` (${result.config.appEnv})` : ''}; ${result.components} providers, graph valid`)
      return ExitCode.ok
    } catch (error) {
      return report(error, err)
    }
  },
})

defineCommand('graph', {
  summary: 'print the dependency graph as Mermaid or DOT, with lifetimes and start waves',
  usage: 'plinth graph [--format mermaid|dot]',
  run({ app, args, out, err }) {
    const { values } = split(args, { format: { type: 'string' } })
    const format = (values.format ?? 'mermaid') as GraphFormat
    if (format !== 'mermaid' && format !== 'dot') {
      err(`--format must be "mermaid" or "dot"; got "${String(format)}"`)
      return Promise.resolve(ExitCode.usage)
    }
    // Discovered modules are part of the graph only once registered (phase 1 reads their files).
    return app
      .registerModules()
      .then(() => {
        const { graph, bootSet } = app.inspect()
        out(renderGraph(graph, bootSet, format).trimEnd())
        return ExitCode.ok
      })
      .catch((error: unknown) => report(error, err))
  },
})

defineCommand('start', {
  summary: 'start the application and serve until SIGTERM or SIGINT',
  usage: 'plinth start [--trace FILE] [--key=value ...]',
  async run({ app, args, err }) {
    const { values, rest } = split(args, { trace: { type: 'string' } })
    return serve(app, { argv: rest, ...(typeof values.trace === 'string' ? { trace: values.trace } : {}), err })
  },
})

export interface ServeOptions {
  argv?: string[]
  /** Write a Chrome trace of boot and shutdown to this file. */
  trace?: string
  err?: (text: string) => void
  /** Injected for tests; default process.exit. */
  exit?: (code: number) => void
}

/**
 * Starts the app and runs it until a signal: SIGTERM or SIGINT stops it in order and exits 0
 * (non-zero if something did not stop); a second signal exits at once, naming what was still
 * running; an uncaught exception or unhandled rejection is logged, then stops the app and
 * exits 1.
 *
 * @example
 * // main.ts: run until SIGTERM, writing a Chrome trace of boot and shutdown
 * await serve(app, { argv: process.argv.slice(2), trace: 'boot-trace.json' })
 */
export async function serve(app: App, options: ServeOptions = {}): Promise<number> {
  const err = options.err ?? ((text: string) => process.stderr.write(`${text}\n`))
  const exit = options.exit ?? ((code: number) => process.exit(code))
  const trace = options.trace ? recordTrace(app.events) : undefined
  let stopping = false

  // A service runs until it is told to stop, even when nothing else holds the event loop open.
  const keepAlive = setInterval(() => {}, 2 ** 30)
  return new Promise<number>((resolveCode) => {
    const finish = (code: number) => {
      clearInterval(keepAlive)
      if (trace && options.trace) trace.write(options.trace)
      resolveCode(code)
      exit(code)
    }
    const shutdown = (reason: string, failed: boolean) => {
      if (stopping) {
        err(`${reason} again: exiting now; still running: ${app.stillRunning().join(', ') || '(nothing)'}`)
        return finish(ExitCode.forced)
      }
      stopping = true
      app.stop(reason).then(
        (result) => {
          // Each component that failed or overran its stop deadline, as a start failure is reported: what, where, what to do.
          for (const failure of result.failures) err(reportError(failure.error))
          if (result.unfinished.length > 0) {
            err(new PlinthError('PLINTH_ERR_SHUTDOWN_TIMEOUT', `shutdown deadline passed; did not stop: ${result.unfinished.join(', ')}`).describe())
          }
          finish(failed || result.unfinished.length > 0 || result.failures.length > 0 ? ExitCode.failure : ExitCode.ok)
        },
        (error: unknown) => finish(report(error, err)),
      )
    }
    handleProcessSignals(app, shutdown)

    app.start({ argv: options.argv ?? [] }).then(
      () => {
        if (trace && options.trace) trace.write(options.trace)
      },
      (error: unknown) => {
        stopping = true
        finish(report(error, err))
      },
    )
  })
}

/**
 * The usage of `plinth`: every command registered so far (packages add theirs when the app that
 * uses them is loaded).
 *
 * @example
 * process.stdout.write(`${commandHelp()}\n`)
 */
export function commandHelp(): string {
  const width = Math.max(...[...commands.keys()].map((name) => name.length))
  return [
    'usage: plinth <command> [options]',
    '',
    ...[...commands].map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`),
    '',
    'Options not known to a command are configuration flags: --http.port=8001',
    '`plinth <command> --help` prints the options of one command.',
  ].join('\n')
}

/**
 * Runs a `plinth` command against an app: `start` (the default), `check`, `graph`, and any
 * command a package defined. Resolves to the exit code.
 *
 * @example
 * // main.ts
 * import { app } from '../app/app.js'
 * process.exitCode = await runCommand(app, process.argv.slice(2))
 */
export async function runCommand(app: App, argv: string[], io: Partial<Pick<CommandContext, 'out' | 'err' | 'appModule'>> = {}): Promise<number> {
  const out = io.out ?? ((text: string) => process.stdout.write(`${text}\n`))
  const err = io.err ?? ((text: string) => process.stderr.write(`${text}\n`))
  const [first, ...rest] = argv
  const name = first === undefined || first.startsWith('-') ? 'start' : first
  const args = first === undefined || first.startsWith('-') ? argv : rest
  if (name === 'help' || name === '--help' || name === '-h') {
    const about = rest[0] === undefined ? undefined : commands.get(rest[0])
    out(about ? `${about.summary}\nusage: ${about.usage}` : commandHelp())
    return ExitCode.ok
  }
  const command = commands.get(name)
  if (!command) {
    err(new PlinthError('PLINTH_ERR_CLI_USAGE', `unknown command "${name}"`).describe())
    err(commandHelp())
    return ExitCode.usage
  }
  if (args.includes('--help') || args.includes('-h')) {
    out(`${command.summary}\nusage: ${command.usage}`)
    return ExitCode.ok
  }
  // A command other than start prints for people on standard output: its logs go to standard
  // error, warnings and worse unless LOG_LEVEL asks for more.
  if (name !== 'start') app.useLogging({ stderr: true, level: 'warn' })
  return command.run({ app, args, out, err, ...(io.appModule === undefined ? {} : { appModule: io.appModule }) })
}

/**
 * The one entry point of a service: runs the command line against the app and exits with the
 * command's code. `start` keeps the process alive until a signal.
 *
 * @example
 * // src/main.ts
 * import { run } from '@plinth/core'
 * import { app } from '../app/app.js'
 * await run(app)
 */
export async function run(app: App, argv: string[] = process.argv.slice(2)): Promise<void> {
  stopWatchingLoading()
  const code = await runCommand(app, argv)
  process.exitCode = code
}
