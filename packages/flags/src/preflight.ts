/**
 * The feature flags' preflight checks: the configuration's flags and the flag file are valid, and
 * every flag evaluates (for an anonymous subject, and as it would while its health fallback is
 * active). They read the flags the way the component does but build no OpenFeature client: a
 * run on a live app must not replace its provider.
 */
import { definePreflight, type PreflightCheck, type PreflightOutcome } from '@plinth/core'
import { featureFlagOptions } from './component.js'
import { validateFlags, type Flag } from './definition.js'
import { evaluateFlag } from './evaluate.js'
import { FlagFile } from './flag-file.js'

function checksFor(options: NonNullable<ReturnType<typeof featureFlagOptions.get>>): PreflightCheck[] {
  return [
    {
      category: 'flags',
      name: 'flags valid and evaluated',
      run: async ({ config, appEnv }): Promise<PreflightOutcome> => {
        const raw = typeof options.flags === 'function' ? options.flags(config) : options.flags
        const { flags, problems } = validateFlags(raw ?? {}, 'flags')
        if (problems.length > 0) return { status: 'fail', found: `configuration: ${problems.map((p) => `${p.path}: ${p.message}`).join('; ')}`, fix: 'correct each flag named in the configuration' }
        const path = typeof options.file === 'function' ? options.file(config) : options.file
        const all = new Map<string, Flag>(flags)
        if (path) {
          const file = new FlagFile(path)
          // A file that does not load is what start-up would refuse: report it with its own words.
          await file.load()
          for (const [key, flag] of file.flags) all.set(key, flag)
        }
        const broken: string[] = []
        for (const flag of all.values()) {
          for (const fallingBack of [false, true]) {
            try {
              const result = evaluateFlag(flag, {}, appEnv, fallingBack)
              if (result.reason !== 'DISABLED' && result.value === undefined) broken.push(`${flag.key}${fallingBack ? ' (falling back)' : ''}: variant "${String(result.variant)}" has no value`)
            } catch (error) {
              broken.push(`${flag.key}: ${(error as Error).message}`)
            }
          }
        }
        if (broken.length > 0) return { status: 'fail', found: broken.join('; '), fix: 'give every variant a flag can take a value' }
        return { status: 'pass', found: `${all.size} flag${all.size === 1 ? '' : 's'} evaluated${path ? `, file ${path} valid` : ''}` }
      },
    },
  ]
}

definePreflight(({ providers }) => providers.flatMap((p) => {
  const options = featureFlagOptions.get(p)
  return options ? checksFor(options) : []
}))
