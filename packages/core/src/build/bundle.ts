/**
 * `plinth build`: the app, its discovered modules and every package they import, compiled into
 * one CommonJS file with esbuild, and a launcher that runs it from V8's code cache.
 *
 * Why: Node 20 has no compile cache, and its ES module loader spends most of a service's start
 * resolving, reading and linking files one by one: a service with four servers loads over a
 * thousand of them before its first line runs. One file is read once; the code cache then
 * spares V8 the parse and compile of everything it ran on the previous start. esbuild does the
 * compiling; what Plinth adds is what a bundle of a Plinth app needs and no bundler knows: the
 * discovered modules (found in a folder at run time) compiled in and handed to discovery, files
 * that read their neighbours (`import.meta.url`, `__dirname`) still finding them, native addons
 * left to load from node_modules, and the cache kept in step with the bundle.
 */
import { existsSync, readFileSync } from 'node:fs'
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { dirname, join, relative, resolve, sep } from 'node:path'
import { createRequire, isBuiltin } from 'node:module'
import { pathToFileURL } from 'node:url'
import type { App } from '../app/app.js'
import { PlinthError, describe } from '../errors.js'
import { moduleFiles } from '../modules/discovery.js'
import { launcherSource } from './launcher.js'

export interface BuildOptions {
  /** The module that exports the app (`"plinth": { "app": ... }` in package.json). */
  readonly appModule: string
  /** Where the bundle goes; default `bundle/` beside the app module. */
  readonly outDir?: string
  /** Packages to leave out of the bundle, loaded from node_modules when the service runs (native addons always are). */
  readonly external?: readonly string[]
  /** Shorter names and no whitespace: a smaller file that parses faster (default true; the source map keeps stacks readable). */
  readonly minify?: boolean
}

export interface BuildReport {
  /** The file to run: `node <entry>` starts the service, `node <entry> check` checks it, as `plinth` would. */
  readonly entry: string
  readonly bundle: string
  readonly bytes: number
  /** The discovered module files compiled in. */
  readonly modules: readonly string[]
  /** Packages left out of the bundle: native addons and those asked for. */
  readonly external: readonly string[]
  /** What esbuild warned about (a `require` it could not follow, say). */
  readonly warnings: readonly string[]
  readonly durationMs: number
}

/**
 * Packages left outside however the bundle is built: the optional ones Plinth loads only when
 * asked (pino-pretty for development output, pino-roll for a log file, esbuild for this build).
 * pino itself is bundled (loading its files from node_modules was some 40 ms of every start): the
 * worker files of its transports, which a worker thread loads by path, are found through
 * `__dirname`, which the bundle rewrites to where pino is installed.
 */
const alwaysExternal = ['pino-pretty', 'pino-roll', 'esbuild']

/** Where a bare import's package sits, found as Node would, from the importing file's folder up. */
function packageDir(name: string, from: string): string | undefined {
  const parts = name.startsWith('@') ? name.split('/').slice(0, 2) : name.split('/').slice(0, 1)
  for (let dir = from; ; dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', ...parts)
    if (existsSync(join(candidate, 'package.json'))) return candidate
    if (dirname(dir) === dir) return undefined
  }
}

const nativeMarkers = ['bindings', 'node-gyp-build', 'node-gyp-build-optional-packages', 'prebuild-install', 'node-pre-gyp', '@mapbox/node-pre-gyp']

/** A package that loads a compiled addon (`.node`): it must load from its own folder, so it stays outside. */
function isNative(dir: string): boolean {
  try {
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { gypfile?: boolean; napi?: unknown; dependencies?: Record<string, string>; optionalDependencies?: Record<string, string> }
    if (pkg.gypfile || pkg.napi !== undefined || existsSync(join(dir, 'binding.gyp'))) return true
    return nativeMarkers.some((marker) => pkg.dependencies?.[marker] !== undefined)
  } catch {
    return false
  }
}

/**
 * The file a bare import names, as a path from the bundle's folder (`../node_modules/pino/pino.js`):
 * a bundle written elsewhere than the project still finds the packages it leaves outside. The
 * specifier itself when it cannot be resolved here, so that the service says which at run time.
 */
function installedAt(spec: string, from: string, outDir: string): string {
  try {
    const file = createRequire(join(from, 'plinth-build.js')).resolve(spec)
    const path = relative(outDir, file).split(sep).join('/')
    return path.startsWith('.') ? path : `./${path}`
  } catch {
    return spec
  }
}

/** `lazyRequire('id')` or `lazyRequire('id', import.meta.url)` (see lazy-require.ts). */
const lazyCall = /\blazyRequire\((['"])([^'"]+)\1(?:\s*,\s*import\.meta\.url)?\s*\)/

/**
 * A bundled file's code, changed where the bundle would otherwise break it: the location it
 * reads its neighbours from, `import(expression)` (which V8 cannot run from a code cache, so the
 * launcher does it), and Plinth's lazy requires (compiled in, still loaded on first use).
 */
function rewrite(text: string, file: string, outDir: string): { prelude: string; body: string } | undefined {
  const usesDir = /\b__(dirname|filename)\b/.test(text)
  const usesMeta = /\bimport\.meta\.(url|dirname|filename)\b/.test(text)
  const importsExpression = /\bimport\(\s*[^'"`\s)]/.test(text)
  const lazy = lazyCall.test(text)
  if (!usesDir && !usesMeta && !importsExpression && !lazy) return undefined
  const rel = JSON.stringify(relative(outDir, file))
  // Before import.meta.url is rewritten: a lazy require's second argument may be that.
  let body = lazy ? text.replace(new RegExp(lazyCall, 'g'), (_, quote: string, id: string) => `lazyRequire(${quote}${id}${quote}, () => require(${quote}${id}${quote}))`) : text
  if (usesMeta) {
    body = body
      .replace(/\bimport\.meta\.url\b/g, `__plinthLocation.url(${rel})`)
      .replace(/\bimport\.meta\.filename\b/g, `__plinthLocation.file(${rel})`)
      .replace(/\bimport\.meta\.dirname\b/g, `__plinthLocation.dir(${rel})`)
  }
  if (importsExpression) body = body.replace(/\bimport\((?=\s*[^'"`\s)])/g, `__plinthImportFrom(${rel})(`)
  const prelude = usesDir ? `var __filename = __plinthLocation.file(${rel}), __dirname = __plinthLocation.dir(${rel});\n` : ''
  return { prelude, body }
}

const bannerSource = [
  'var __plinthLocation = (() => {',
  '  const path = require("node:path"), url = require("node:url"), base = __dirname;',
  '  const file = (relative) => path.join(base, relative);',
  '  return { file, dir: (relative) => path.dirname(file(relative)), url: (relative) => url.pathToFileURL(file(relative)).href };',
  '})();',
  // The launcher's import(), which runs where the bundle's cannot (see launcher.ts); Node's own when run without it.
  'var __plinthImport = globalThis[Symbol.for("plinth.import")] ?? ((specifier) => import(specifier));',
  // import(expression) in a bundled file: a package name resolves as it would from that file's
  // own place (its package's dependencies, an optional one like pino-roll), not from wherever
  // the bundle was written; what does not resolve that way is imported as written.
  'var __plinthImportFrom = (relative) => (specifier) => {',
  '  if (typeof specifier === "string" && /^[^./]/.test(specifier) && !/^[a-z][a-z0-9+.-]*:/i.test(specifier) && !require("node:module").isBuiltin(specifier)) {',
  '    try { specifier = require("node:url").pathToFileURL(require("node:module").createRequire(__plinthLocation.file(relative)).resolve(specifier)).href } catch {}',
  '  }',
  '  return __plinthImport(specifier);',
  '};',
].join('\n')

/** Splits a file's hashbang and directive prologue ("use strict") from the rest, so a prelude goes after them. */
function afterPrologue(text: string): [string, string] {
  const match = /^(#![^\n]*\n)?(\s*(?:(['"])use strict\3;?|\/\/[^\n]*|\/\*[\s\S]*?\*\/)\s*)*/.exec(text)
  const end = match?.[0].length ?? 0
  return [text.slice(0, end), text.slice(end)]
}

/**
 * Compiles the app into `outDir`: `app.cjs` (the bundle), its source map, and `start.cjs`, the
 * launcher to run. The launcher keeps V8's code cache for the bundle in `app.cjs.cache`, written
 * once the service is ready (and again whenever V8 rejects it, after a Node upgrade).
 *
 * @example
 * const report = await buildApp(app, { appModule: 'dist/app.js' })
 * console.log(`node ${report.entry}`)
 */
export async function buildApp(app: App, options: BuildOptions): Promise<BuildReport> {
  const began = performance.now()
  const esbuild = (await import('esbuild').catch(() => undefined)) as typeof import('esbuild') | undefined
  if (!esbuild?.build) throw new PlinthError('PLINTH_ERR_BUILD_TOOL_MISSING', 'plinth build compiles with esbuild, which is not installed here')
  const appModule = resolve(options.appModule)
  const outDir = resolve(options.outDir ?? join(dirname(appModule), 'bundle'))
  const discovery = app.moduleDiscovery
  const modules = discovery ? await moduleFiles(discovery) : []
  const bundle = join(outDir, 'app.cjs')
  const external = new Set([...alwaysExternal, ...(options.external ?? [])])
  const leftOut = new Set<string>()

  const exportName = 'app' in ((await import(pathToFileURL(appModule).href)) as object) ? 'app' : 'default'
  const entry = [
    `import * as appModule from ${JSON.stringify(appModule)}`,
    `import { registerBundledModules, run } from '@plinth/core'`,
    ...modules.map((file, i) => `import * as module${i} from ${JSON.stringify(file)}`),
    `registerBundledModules(__dirname, { ${modules.map((file, i) => `${JSON.stringify(relative(outDir, file))}: module${i}`).join(', ')} })`,
    `export const app = appModule.${exportName}`,
    // The launcher's warm-up loads the bundle to fill the code cache without starting anything.
    `if (!process.env.PLINTH_BUNDLE_WARMUP) run(app).catch((error) => { console.error(error); process.exitCode = 1 })`,
  ].join('\n')

  await rm(outDir, { recursive: true, force: true })
  await mkdir(outDir, { recursive: true })
  let result
  try {
    result = await esbuild.build({
      stdin: { contents: entry, resolveDir: dirname(appModule), sourcefile: 'plinth-bundle-entry.js', loader: 'js' },
      bundle: true,
      platform: 'node',
      // A package's ES module build where it has one (graphql, say): esbuild shakes out what the
      // app never imports, where the CommonJS build evaluates every file of the package at start.
      mainFields: ['module', 'main'],
      format: 'cjs',
      target: `node${process.versions.node.split('.')[0]}`,
      outfile: bundle,
      sourcemap: 'linked',
      minify: options.minify ?? true,
      keepNames: true,
      legalComments: 'none',
      // The launcher reads the bundle as latin1, which is exact only for ASCII.
      charset: 'ascii',
      logLevel: 'silent',
      // Where a bundled file was, from its path relative to the bundle: the bundle can move with the tree it was built in.
      banner: { js: bannerSource },
      plugins: [
        {
          name: 'plinth',
          setup(build) {
            // import('an-external') becomes a require() of it: the code cache cannot hold an import().
            build.onResolve({ filter: /.*/, namespace: 'plinth-external' }, (args) => ({ path: args.path, external: true }))
            build.onLoad({ filter: /.*/, namespace: 'plinth-external' }, (args) => ({ contents: `module.exports = require(${JSON.stringify(args.path)})`, loader: 'js' }))
            // A package left outside loads from where it was found at build time, by a path relative to the bundle.
            const leaveOut = (spec: string, from: string, kind: string) => {
              const path = installedAt(spec, from, outDir)
              return kind === 'dynamic-import' ? { path, namespace: 'plinth-external' } : { path, external: true }
            }
            build.onResolve({ filter: /^[^./]/ }, (args) => (args.kind === 'dynamic-import' && isBuiltin(args.path) ? { path: args.path, namespace: 'plinth-external' } : undefined))
            build.onResolve({ filter: /\.node$/ }, (args) => ({ path: resolve(args.resolveDir, args.path), external: true }))
            build.onResolve({ filter: /^(@[^/]+\/)?[^./][^:]*$/ }, (args) => {
              const name = args.path.startsWith('@') ? args.path.split('/').slice(0, 2).join('/') : args.path.split('/')[0]!
              const dir = external.has(name) ? undefined : packageDir(name, args.resolveDir)
              const outside = external.has(name) || (dir !== undefined && isNative(dir))
              if (!outside) return undefined
              if (!external.has(name)) leftOut.add(name)
              return leaveOut(args.path, args.resolveDir, args.kind)
            })
            build.onLoad({ filter: /\.[cm]?js$/ }, async (args) => {
              const text = await readFile(args.path, 'utf8')
              const located = rewrite(text, args.path, outDir)
              if (!located) return undefined
              const [prologue, rest] = afterPrologue(located.body)
              return { contents: prologue + located.prelude + rest, loader: 'js', resolveDir: dirname(args.path) }
            })
          },
        },
      ],
    })
  } catch (error) {
    const failures = (error as { errors?: { text: string; location?: { file: string; line: number } | null }[] }).errors ?? []
    const lines = failures.map((f) => `  ${f.location ? `${f.location.file}:${f.location.line}: ` : ''}${f.text}`)
    throw new PlinthError('PLINTH_ERR_BUILD_FAILED', `esbuild could not bundle ${relative(process.cwd(), appModule)}${lines.length > 0 ? `:\n${lines.join('\n')}` : `: ${describe(error)}`}`, { cause: error })
  }
  const launcher = join(outDir, 'start.cjs')
  await writeFile(launcher, launcherSource, { mode: 0o755 })
  return {
    entry: launcher,
    bundle,
    bytes: (await stat(bundle)).size,
    modules,
    external: [...new Set([...external, ...leftOut])].sort(),
    warnings: result.warnings.map((w) => `${w.location ? `${w.location.file}:${w.location.line}: ` : ''}${w.text}`),
    durationMs: performance.now() - began,
  }
}
