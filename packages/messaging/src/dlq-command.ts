/**
 * `plinth dlq list | show | replay | purge`: the dead-letter queue as an operator uses it,
 * without starting the app. Only the messaging component is built (no subscription starts), so
 * the command is safe to run beside running instances.
 */
import { parseArgs } from 'node:util'
import { Application, Container, defineCommand, ExitCode, Logger, provide, type App, type CommandContext, type Token, reportError } from '@plinth/core'
import type { Bus } from './bus.js'
import type { DeadLetter } from './contract.js'

const usage = [
  'plinth dlq list [TOPIC] [--limit N]     topics with dead letters, or a topic\'s dead letters',
  'plinth dlq show TOPIC ID                one dead letter, whole',
  'plinth dlq replay TOPIC (ID | --all)    publish again into TOPIC and remove from the queue',
  'plinth dlq purge TOPIC (ID | --all)     remove for good',
].join('\n  ')

function parse(args: string[]) {
  const known = { limit: { type: 'string' }, all: { type: 'boolean' } } as const
  const { values, tokens } = parseArgs({ args, options: known, strict: false, tokens: true, allowPositionals: true })
  const positionals: string[] = []
  const rest: string[] = []
  for (const token of tokens) {
    if (token.kind === 'option' && token.name in known) continue
    if (token.kind === 'option') {
      rest.push(token.rawName + (token.inlineValue && token.value !== undefined ? `=${token.value}` : ''))
      if (!token.inlineValue && token.value !== undefined) rest.push(token.value)
    }
    if (token.kind === 'positional') positionals.push(token.value)
  }
  return { values: values as { limit?: string; all?: boolean }, positionals, rest }
}

/** Builds the app's bus alone (its messaging component and what it needs from the kernel). */
async function buildBus(app: App, argv: string[], err: (text: string) => void): Promise<Bus | number> {
  const report = await app.check({ argv })
  if (report.problems.length > 0) {
    err(`the app's dependency graph has ${report.problems.length} problem(s); run \`plinth check\` for the list`)
    return ExitCode.failure
  }
  const provider = app.providers().find((p) => p.provides.kind === 'token' && p.provides.name === 'message-bus')
  if (!provider) {
    err(`app "${app.name}" has no messaging component; add messaging() from @plinth/messaging to its components`)
    return ExitCode.usage
  }
  const container = new Container([provider, provide(Application, { value: app }), provide(Logger, { value: app.logger })])
  const bus = await container.resolve(provider.provides as Token<Bus>)
  await bus.start()
  return bus
}

const line = (letter: DeadLetter) =>
  `${letter.id}  ${letter.group.padEnd(16)}  ${String(letter.attempts).padStart(3)}x  ${new Date(letter.deadAt).toISOString()}  ${letter.error.replace(/\s+/g, ' ').slice(0, 120)}`

async function dlq({ app, args, out, err }: CommandContext): Promise<number> {
  const { values, positionals, rest } = parse(args)
  const [action, topicName, id] = positionals
  const needsTopic = action === 'show' || action === 'replay' || action === 'purge'
  if (action !== 'list' && !needsTopic) {
    err(`plinth dlq needs one of list, show, replay or purge; got ${action === undefined ? 'nothing' : `"${action}"`}\nusage:\n  ${usage}`)
    return ExitCode.usage
  }
  if (needsTopic && topicName === undefined) {
    err(`plinth dlq ${action} needs a TOPIC; \`plinth dlq list\` shows the topics with dead letters`)
    return ExitCode.usage
  }
  if (action === 'show' && id === undefined) {
    err(`plinth dlq show needs the ID of a dead letter; \`plinth dlq list ${topicName}\` shows them`)
    return ExitCode.usage
  }
  if ((action === 'replay' || action === 'purge') && (id === undefined) === (values.all !== true)) {
    err(`plinth dlq ${action} needs either one dead letter's ID or --all (not both, not neither)`)
    return ExitCode.usage
  }
  const limit = values.limit === undefined ? 100 : Number(values.limit)
  if (!Number.isInteger(limit) || limit < 1) {
    err(`--limit must be a whole number of at least 1; got "${values.limit}"`)
    return ExitCode.usage
  }
  let bus: Bus | undefined
  try {
    const built = await buildBus(app, rest, err)
    if (typeof built === 'number') return built
    bus = built
    const queue = bus.deadLetters
    if (action === 'list' && topicName === undefined) {
      const topics = await queue.topics()
      for (const { topic, count } of topics) out(`${topic}  ${count}`)
      out(topics.length === 0 ? `${bus.broker.url}: the dead-letter queue is empty` : `${bus.broker.url}: ${topics.length} topic(s) with dead letters`)
    } else if (action === 'list') {
      const letters = await queue.list(topicName!, { limit })
      for (const letter of letters) out(line(letter))
      out(`${topicName}: ${letters.length} dead letter(s)${letters.length === limit ? ` (first ${limit}; --limit N for more)` : ''}`)
    } else if (action === 'show') {
      out(JSON.stringify(await queue.inspect(topicName!, id!), null, 2))
    } else if (action === 'replay') {
      out(`${topicName}: replayed ${await queue.replay(topicName!, id)} dead letter(s)`)
    } else {
      out(`${topicName}: purged ${await queue.purge(topicName!, id)} dead letter(s)`)
    }
    return ExitCode.ok
  } catch (error) {
    err(reportError(error))
    return ExitCode.failure
  } finally {
    await bus?.stop()
  }
}

defineCommand('dlq', {
  summary: 'the dead-letter queue: dlq list [TOPIC] | show TOPIC ID | replay TOPIC ID|--all | purge TOPIC ID|--all',
  usage: `\n  ${usage}`,
  run: dlq,
})
