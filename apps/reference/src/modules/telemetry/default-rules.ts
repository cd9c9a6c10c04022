import { readFile } from 'node:fs/promises'
import { resolve } from 'node:path'
import { component } from '@plinth/core'
import { z } from 'zod'
import { AppConfig } from '../../config.js'
import { formatPath } from '../../errors.js'
import { RuleInput } from './model.js'

/** Where the default rules live, under the data directory. */
export const defaultRulesPath = 'telemetry/default-rules.json'

/**
 * What the bootstrap phase writes to `defaultRulesPath` when the file does not exist (it never
 * overwrites it): the rules a newly registered device of each kind gets. Operators edit the file.
 */
export const defaultRulesTemplate = `${JSON.stringify(
  {
    thermometer: [
      { kind: 'threshold', metric: 'temperature', above: 60, below: -20 },
      { kind: 'silence', seconds: 300 },
    ],
  },
  null,
  2,
)}\n`

const DefaultRulesFile = z.record(z.string().min(1), z.array(RuleInput))

/** Device kind -> the rules its devices get when registered. */
export type DefaultRules = ReadonlyMap<string, readonly RuleInput[]>

/**
 * Reads the default rules; a missing file means none. An invalid file fails start-up, naming
 * the file and each field at fault.
 *
 * @example
 * const defaults = await loadDefaultRules('/var/lib/reference/telemetry/default-rules.json')
 * defaults.get('thermometer') // [{ kind: 'threshold', metric: 'temperature', above: 60, below: -20 }, ...]
 */
export async function loadDefaultRules(file: string): Promise<DefaultRules> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return new Map()
    throw error
  }
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (error) {
    throw new Error(`${file} is not valid JSON: ${(error as Error).message}`)
  }
  const parsed = DefaultRulesFile.safeParse(json)
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `  - ${formatPath(issue.path.map((k) => (typeof k === 'number' ? k : String(k)))) || '(root)'}: ${issue.message}`)
    throw new Error(`${file} has invalid default rules:\n${problems.join('\n')}`)
  }
  return new Map(Object.entries(parsed.data))
}

/** The default rules, read once at start from the data directory the bootstrap phase prepared. */
export const defaultRules = component('telemetry-default-rules', {
  deps: { config: AppConfig },
  create: ({ config }) => loadDefaultRules(resolve(config.dataDir, defaultRulesPath)),
})
