import { availableParallelism } from 'node:os'
import { defineConfig } from 'vitest/config'

// Tests run against the TypeScript sources of every workspace package (the `@plinth/source`
// export condition), so no build is needed between an edit and a test run.
export default defineConfig({
  resolve: { conditions: ['@plinth/source'] },
  ssr: { resolve: { conditions: ['@plinth/source'], externalConditions: ['@plinth/source'] } },
  test: {
    include: ['packages/*/test/**/*.test.ts', 'apps/*/test/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 20_000,
    hookTimeout: 20_000,
    pool: 'forks',
    // Most test files wait on sockets, child processes and real servers rather than on the CPU;
    // Vitest's default of one worker per core but one would run them one at a time on two cores.
    maxWorkers: Math.max(3, availableParallelism()),
    // Log lines stay with their test and are printed only when it fails (test/setup/quiet-logs.ts).
    setupFiles: ['test/setup/quiet-logs.ts'],
    silent: 'passed-only',
    // graphql has no exports map: Vite would load its ESM build for our sources while
    // graphql-ws and @graphql-tools load the CommonJS one, two realms that reject each other's
    // schema. Inlined, they resolve graphql as our sources do.
    server: { deps: { inline: ['graphql-ws', /@graphql-tools\//] } },
  },
})
