import { existsSync } from 'node:fs'
import js from '@eslint/js'
import tseslint from 'typescript-eslint'

// The bench has dependencies of its own (the peers it measures Plinth against), installed only
// by `npm run bench` (bench/setup.mjs): its sources are linted, against bench/tsconfig.json, once
// they are installed, and left out before.
const benchInstalled = existsSync(`${import.meta.dirname}/bench/node_modules`)

export default tseslint.config(
  // src/generated holds code written by a package's scripts (see the header of each file).
  { ignores: ['**/dist/**', '**/node_modules/**', '**/*.tst.ts', '**/fixtures/**', '**/src/generated/**', 'coverage/**', ...(benchInstalled ? [] : ['bench/src/**'])] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { project: ['./tsconfig.check.json'], tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // A kernel lives on promise handling: every promise is awaited, returned or voided on purpose.
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      // A declaration site prints itself as "file:line".
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true, allow: [{ name: 'Site', from: 'file' }] }],
    },
  },
  { files: ['bench/src/**/*.ts'], languageOptions: { parserOptions: { project: ['./bench/tsconfig.json'], tsconfigRootDir: import.meta.dirname } } },
  {
    files: ['**/test/**/*.ts'],
    rules: {
      // Tests declare async factories and hooks without awaiting on purpose.
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/unbound-method': 'off',
    },
  },
  { files: ['**/bin/*.js'], languageOptions: { globals: { process: 'readonly' } } },
  { files: ['bench/setup.mjs', 'packages/*/scripts/*.mjs'], languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly' } } },
  // The plugin sandbox's runtime is CommonJS (see packages/plugins/runtime/sandbox-runtime.cjs).
  {
    files: ['**/*.cjs'],
    languageOptions: { sourceType: 'commonjs', globals: { require: 'readonly', process: 'readonly' } },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  { files: ['**/*.js', '**/*.mjs', '**/*.cjs'], ...tseslint.configs.disableTypeChecked },
)
