import { watch, type FSWatcher } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { basename, dirname, resolve } from 'node:path'
import type { Flag, FlagProblem } from './definition.js'
import { validateFlags } from './definition.js'
import { flagsErrors } from './errors.js'

/** The state of the flag file, for /health. */
export interface FlagFileState {
  readonly path: string
  /** When the flags now in use were read. */
  readonly loadedAt: string | undefined
  /** Why the latest change of the file was refused; the last good flags stay in use meanwhile. */
  readonly error: string | undefined
}

/**
 * A JSON file of flags (`{ "flags": { "<key>": { ... } } }`) that can change while the app
 * runs: its folder is watched (editors and config management replace files by renaming), each
 * change is read and validated, and an invalid or unreadable file keeps the last good flags,
 * with the error kept for /health and given to `onError`.
 *
 * @example
 * const file = new FlagFile('flags.json')
 * await file.load() // rejects with every problem of an invalid file
 * file.watch((flags) => provider.setFileFlags(flags), (error) => log.error(error.message))
 */
export class FlagFile {
  readonly path: string
  #flags = new Map<string, Flag>()
  #loadedAt: number | undefined
  #error: string | undefined
  #watcher: FSWatcher | undefined
  #debounce: NodeJS.Timeout | undefined
  #reading: Promise<void> = Promise.resolve()

  constructor(path: string, cwd = process.cwd()) {
    this.path = resolve(cwd, path)
  }

  get flags(): ReadonlyMap<string, Flag> {
    return this.#flags
  }

  state(): FlagFileState {
    return { path: this.path, loadedAt: this.#loadedAt === undefined ? undefined : new Date(this.#loadedAt).toISOString(), error: this.#error }
  }

  /** Reads the file once; rejects with PLINTH_ERR_FLAGS_FILE or PLINTH_ERR_FLAGS_INVALID, listing every problem. */
  async load(): Promise<void> {
    const result = await this.#read()
    if ('error' in result) throw result.error
    this.#flags = result.flags
    this.#loadedAt = Date.now()
  }

  /** Watches for changes; `onChange` gets the new flags, `onError` the refused ones. */
  watch(onChange: (flags: ReadonlyMap<string, Flag>) => void, onError: (error: Error) => void): void {
    const name = basename(this.path)
    this.#watcher = watch(dirname(this.path), (_event, file) => {
      if (file !== null && file !== name) return
      clearTimeout(this.#debounce)
      // Writers often truncate then write: wait for the burst of events to settle.
      this.#debounce = setTimeout(() => {
        this.#reading = this.#reading.then(async () => {
          const result = await this.#read()
          if ('error' in result) {
            if (this.#error !== result.error.message) onError(result.error)
            this.#error = result.error.message
            return
          }
          this.#error = undefined
          this.#flags = result.flags
          this.#loadedAt = Date.now()
          onChange(result.flags)
        })
      }, 40)
    })
    this.#watcher.on('error', (error) => onError(error))
  }

  close(): void {
    clearTimeout(this.#debounce)
    this.#watcher?.close()
  }

  async #read(): Promise<{ flags: Map<string, Flag> } | { error: Error }> {
    let text: string
    try {
      text = await readFile(this.path, 'utf8')
    } catch (error) {
      return { error: flagsErrors.create('PLINTH_ERR_FLAGS_FILE', `cannot read the flag file ${this.path}: ${(error as Error).message}`, { cause: error }) }
    }
    let raw: unknown
    try {
      raw = JSON.parse(text)
    } catch (error) {
      return { error: flagsErrors.create('PLINTH_ERR_FLAGS_FILE', `the flag file ${this.path} is not valid JSON: ${(error as Error).message}`) }
    }
    const flags = (raw as { flags?: unknown } | null)?.flags
    const { flags: valid, problems } = validateFlags(flags ?? raw, `${basename(this.path)}:flags`)
    if (flags === undefined) problems.unshift({ path: basename(this.path), message: 'expected { "flags": { "<key>": { ... } } }' })
    if (problems.length > 0) return { error: invalidFlags(problems, `the flag file ${this.path}`) }
    return { flags: valid }
  }
}

/**
 * One error listing every problem with flag definitions.
 *
 * @example
 * const { problems } = validateFlags(raw, 'flags')
 * if (problems.length > 0) throw invalidFlags(problems, 'config/production.yaml')
 */
export function invalidFlags(problems: readonly FlagProblem[], where: string): Error {
  const count = problems.length === 1 ? '1 problem' : `${problems.length} problems`
  return flagsErrors.create('PLINTH_ERR_FLAGS_INVALID', `${where} has ${count}:\n${problems.map((p) => `  - ${p.path}: ${p.message}`).join('\n')}`, { details: { problems } })
}
