/**
 * The launcher `plinth build` writes beside the bundle (`start.cjs`). It compiles the bundle
 * with the V8 code cache of an earlier start when there is one, which spares V8 the parse and
 * compile of every function that start ran, and writes that cache once the app is ready when
 * there was none or V8 rejected it (another Node version). A folder it cannot write to costs
 * the cache, never the start. It also offers the bundle a start cache (see start-cache.ts): small
 * texts one start leaves for the next beside the bundle. `node start.cjs [command]` takes the
 * commands `plinth` takes.
 */
export const launcherSource = `#!/usr/bin/env node
// Written by \`plinth build\`: runs app.cjs from V8's code cache (app.cjs.cache) when it has one.
'use strict'
const { readFileSync, renameSync, writeFileSync } = require('node:fs')
const Module = require('node:module')
const { join } = require('node:path')
const vm = require('node:vm')

// V8 loses import() in code it runs from a cache: the bundle imports what it does not hold (a
// plugin, a migration file) through this function, whose import() runs here, outside the cache.
globalThis[Symbol.for('plinth.import')] = (specifier) => import(specifier)

const file = join(__dirname, 'app.cjs')
const cacheFile = join(__dirname, 'app.cjs.cache')
let cachedData
try {
  cachedData = readFileSync(cacheFile)
} catch {
  cachedData = undefined
}
// The bundle is ASCII (esbuild escapes the rest), so latin1 reads it exactly, and three times
// faster than a UTF-8 decode of its megabytes.
const script = new vm.Script(Module.wrap(readFileSync(file, 'latin1')), {
  filename: file,
  cachedData,
})
const bundle = new Module(file, module)
bundle.filename = file
bundle.paths = Module._nodeModulePaths(__dirname)
bundle.loaded = true

// What one start leaves for the next (see StartCache in start-cache.ts): app.cjs.<name>.start.
globalThis[Symbol.for('plinth.startCache')] = {
  read(name) {
    const file = startFile(name)
    try {
      return readFileSync(file, 'utf8')
    } catch {
      return undefined
    }
  },
  write(name, text) {
    const target = startFile(name)
    try {
      writeFileSync(target + '.' + process.pid, text)
      renameSync(target + '.' + process.pid, target)
    } catch {
      // A read-only folder: the next start does that work again.
    }
  },
}
function startFile(name) {
  if (!/^[a-z0-9-]+$/.test(name)) throw new TypeError('a start cache name is lower-case letters, digits and dashes; got ' + JSON.stringify(name))
  return join(__dirname, 'app.cjs.' + name + '.start')
}

function keepCache() {
  try {
    const temporary = cacheFile + '.' + process.pid
    writeFileSync(temporary, script.createCachedData())
    renameSync(temporary, cacheFile)
  } catch {
    // A read-only folder: the next start compiles again, as it did this time.
  }
}

script.runInThisContext()(bundle.exports, Module.createRequire(file), bundle, file, __dirname)
const stale = cachedData === undefined || script.cachedDataRejected === true
if (process.env.PLINTH_BUNDLE_WARMUP) keepCache()
else if (stale) {
  // After ready, the cache holds what start compiled too, not only the top level.
  const app = bundle.exports.app
  const unsubscribe = app.events.subscribe((event) => {
    if (event.type !== 'ready') return
    unsubscribe()
    setImmediate(keepCache)
  })
}
`
