/**
 * Modules compiled into a bundle by `plinth build`. A bundle cannot import a module folder's
 * file at run time (that file would load a second copy of every package the bundle already
 * holds, and its tokens would not be the bundle's), so the bundle's entry registers each module
 * it holds under the path discovery would import, and discovery takes it from here.
 */
import { resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const bundled = new Map<string, Record<string, unknown>>()

/**
 * Registers the modules a bundle holds: `files` maps each module file's path, relative to
 * `base` (the bundle's folder), to its namespace. The entry `plinth build` writes calls this
 * before the app starts; applications do not.
 *
 * @example
 * registerBundledModules(__dirname, { '../modules/telemetry/module.js': telemetryNamespace })
 */
export function registerBundledModules(base: string | URL, files: Readonly<Record<string, Record<string, unknown>>>): void {
  const dir = base instanceof URL ? fileURLToPath(base) : base
  for (const [file, namespace] of Object.entries(files)) bundled.set(resolve(dir, file), namespace)
}

/** The namespace of a module file the running bundle holds, or undefined when it must be imported. */
export function bundledModule(path: string): Record<string, unknown> | undefined {
  return bundled.get(resolve(path))
}
