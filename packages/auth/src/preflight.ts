/**
 * Auth's preflight checks: the signing keys (given, usable, shared by every instance in
 * production), the token lifetimes, and the pepper when one is set.
 */
import { Application, definePreflight, isPlaceholder, type PreflightCheck, type PreflightContext, type PreflightOutcome } from '@plinth/core'
import { authOptionsOf, type OptionsInput } from './component.js'
import { KeyRing } from './keys.js'

async function optionsFor(input: OptionsInput, context: PreflightContext) {
  return typeof input === 'function' ? input({ config: context.config, app: await context.resolve(Application) }) : input
}

function checksFor(input: OptionsInput): PreflightCheck[] {
  return [
    {
      category: 'security',
      name: 'JWT signing keys',
      run: async (context): Promise<PreflightOutcome> => {
        const options = await optionsFor(input, context)
        const algorithm = options.algorithm ?? 'EdDSA'
        if (!options.signingKeys) {
          return context.production
            ? { status: 'fail', found: 'none given: each instance generates its own key at start', fix: 'give signingKeys (private JWKs from the secrets store) so that every instance verifies every token and restarts do not sign everyone out' }
            : { status: 'pass', found: `generated at start (${algorithm}; development)` }
        }
        // Loading them is what start-up does: a public key, a wrong curve or a broken JWK fails here.
        const ring = await KeyRing.fromJwks(options.signingKeys, { algorithm, retainFor: 0 })
        return { status: 'pass', found: `${options.signingKeys.length} ${ring.algorithm} key${options.signingKeys.length === 1 ? '' : 's'} (${ring.algorithm === 'EdDSA' ? 'Ed25519' : 'P-256'})` }
      },
    },
    {
      category: 'security',
      name: 'token lifetimes and pepper',
      run: async (context): Promise<PreflightOutcome> => {
        const options = await optionsFor(input, context)
        const lifetime = options.accessTokenLifetime ?? 900
        const problems: string[] = []
        if (lifetime > 3_600) problems.push(`access tokens live ${lifetime} s: a revoked user keeps access that long on services that do not check the deny list`)
        if (options.pepper !== undefined && (isPlaceholder(options.pepper) || options.pepper.length < 16)) problems.push('the pepper is a placeholder or shorter than 16 characters')
        if (problems.length === 0) return { status: 'pass', found: `access tokens ${lifetime} s${options.pepper ? ', pepper set' : ''}` }
        return { status: context.production ? 'fail' : 'warn', found: problems.join('; '), fix: 'keep accessTokenLifetime to 15 minutes or so (refresh tokens carry sessions), and use a random pepper of 32 characters from the secrets store' }
      },
    },
  ]
}

definePreflight(({ providers }) => providers.flatMap((p) => {
  const input = authOptionsOf.get(p)
  return input ? checksFor(input) : []
}))
