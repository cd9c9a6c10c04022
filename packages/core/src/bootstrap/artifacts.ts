/**
 * The artifacts handler: models, assets and schemas fetched over http(s) or copied from a path,
 * verified against their sha256 and written atomically (a temporary file beside the target,
 * synced, then renamed over it). A checksum mismatch or a broken transfer removes the temporary
 * file, so the target is either the verified content or what was there before.
 *
 * Hashing a large file on every boot would cost seconds, so a verified artifact's size and
 * modification time are remembered in `<dataDir>/.plinth/verified.json`; while they match, the
 * file is trusted without rehashing. A file changed in place gets a new mtime and is rehashed.
 */
import { createHash, randomBytes } from 'node:crypto'
import { createReadStream, type Stats } from 'node:fs'
import { chmod, mkdir, open, readFile, rename, writeFile } from 'node:fs/promises'
import { basename, dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { BootstrapContext, BootstrapHandler, RequirementSet } from './bootstrap.js'
import type { CheckedRequirements } from './requirements.js'
import { actionOf, applySteps, destination, discard, display, owner, type Step } from './steps.js'
import { PlinthError, describe } from '../errors.js'
import { statOrUndefined } from './directories.js'

type ArtifactSpec = CheckedRequirements['artifacts'][number]
type Verified = Record<string, { sha256: string; size: number; mtimeMs: number }>
type VerifiedIndex = ReturnType<typeof verifiedIndex>

/** The local file an artifact is copied from (a path relative to its declaration, or a file: URL), or undefined for one fetched over HTTP. */
export function localSource(set: RequirementSet, source: string): string | undefined {
  if (/^https?:\/\//i.test(source)) return undefined
  return source.startsWith('file:') ? fileURLToPath(source) : resolve(set.baseDir, source)
}

/** A URL safe to print: no credentials, no query (presigned URLs carry their signature there). */
export function safeUrl(source: string): string {
  try {
    const url = new URL(source)
    return `${url.protocol}//${url.host}${url.pathname}${url.search ? '?…' : ''}`
  } catch {
    return source
  }
}

/** The sha256 of a file, streamed. */
export async function hashFile(path: string, signal: AbortSignal): Promise<string> {
  const hash = createHash('sha256')
  for await (const chunk of createReadStream(path, { signal })) hash.update(chunk as Buffer)
  return hash.digest('hex')
}

/** The index of artifacts verified by hashing (size and mtime at that time), read and written under the data directory. */
export function verifiedIndex(dataDir: string) {
  const file = join(dataDir, '.plinth', 'verified.json')
  let entries: Verified | undefined
  let dirty = false
  return {
    async get(): Promise<Verified> {
      if (entries) return entries
      try {
        entries = JSON.parse(await readFile(file, 'utf8')) as Verified
      } catch {
        // Missing or unreadable: every artifact is rehashed once, which is only slower.
        entries = {}
      }
      return entries
    },
    async remember(path: string, sha256: string, found: Stats): Promise<void> {
      ;(await this.get())[path] = { sha256, size: found.size, mtimeMs: found.mtimeMs }
      dirty = true
    },
    async save(): Promise<void> {
      if (!dirty || !entries) return
      await mkdir(dirname(file), { recursive: true })
      const temp = `${file}.${randomBytes(6).toString('hex')}.part`
      await writeFile(temp, JSON.stringify(entries, null, 2))
      await rename(temp, file)
      dirty = false
    },
  }
}

/** Streams `chunks` into a temporary file beside `path`, checks size and sha256, and renames it into place. */
async function writeVerified(
  path: string,
  spec: ArtifactSpec,
  chunks: AsyncIterable<Uint8Array>,
  onChunk: (received: number) => void,
  describeSource: string,
): Promise<void> {
  await mkdir(dirname(path), { recursive: true })
  const temp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.part`)
  const hash = createHash('sha256')
  let received = 0
  try {
    const handle = await open(temp, 'wx', 0o600)
    try {
      for await (const chunk of chunks) {
        hash.update(chunk)
        await handle.write(chunk)
        received += chunk.byteLength
        onChunk(received)
      }
      // Durable before it becomes visible: a crash after the rename must not leave a hole-filled file.
      await handle.sync()
    } finally {
      await handle.close()
    }
    const actual = hash.digest('hex')
    if (spec.size !== undefined && received !== spec.size) {
      throw new PlinthError('PLINTH_ERR_ARTIFACT_CHECKSUM', `${describeSource} gave ${received} bytes for ${spec.path}; ${spec.size} were declared`, {
        details: { path: spec.path, expectedSize: spec.size, actualSize: received },
      })
    }
    if (actual !== spec.sha256) {
      throw new PlinthError('PLINTH_ERR_ARTIFACT_CHECKSUM', `${describeSource} for ${spec.path} has sha256 ${actual}; ${spec.sha256} was declared`, {
        hint: 'The source serves different content than declared: fix the sha256 in the declaration (`sha256sum FILE`) or the source. Nothing was written.',
        details: { path: spec.path, expected: spec.sha256, actual },
      })
    }
    await chmod(temp, spec.mode ?? 0o644)
    await rename(temp, path)
  } finally {
    await discard(temp)
  }
}

async function* httpBody(url: string, signal: AbortSignal, total: (bytes: number | undefined) => void): AsyncIterable<Uint8Array> {
  let response: Response
  try {
    response = await fetch(url, { signal, redirect: 'follow' })
  } catch (error) {
    throw new PlinthError('PLINTH_ERR_ARTIFACT_FETCH', `GET ${safeUrl(url)} failed: ${describe(error)}${causeText(error)}`, { cause: error })
  }
  if (!response.ok || !response.body) {
    await response.body?.cancel()
    throw new PlinthError('PLINTH_ERR_ARTIFACT_FETCH', `GET ${safeUrl(url)} answered ${response.status} ${response.statusText}`, { details: { status: response.status } })
  }
  const length = Number(response.headers.get('content-length'))
  total(Number.isFinite(length) && length > 0 ? length : undefined)
  try {
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) yield chunk
  } catch (error) {
    throw new PlinthError('PLINTH_ERR_ARTIFACT_FETCH', `GET ${safeUrl(url)} broke off mid-transfer: ${describe(error)}${causeText(error)}`, { cause: error })
  }
}

async function* fileBody(path: string, signal: AbortSignal, shown: string): AsyncIterable<Uint8Array> {
  try {
    for await (const chunk of createReadStream(path, { signal })) yield chunk as Buffer
  } catch (error) {
    throw new PlinthError('PLINTH_ERR_ARTIFACT_FETCH', `cannot copy ${shown}: ${describe(error)}`, { cause: error })
  }
}

/** undici reports a dropped connection as "terminated" with the socket error as its cause. */
function causeText(error: unknown): string {
  const cause = error instanceof Error ? error.cause : undefined
  return cause instanceof Error ? ` (${cause.message})` : ''
}

function planArtifact(context: BootstrapContext, set: RequirementSet, spec: ArtifactSpec, verified: VerifiedIndex): Promise<Step> {
  const path = destination(context, spec.path)
  const target = display(context, path)
  const sourcePath = localSource(set, spec.source)
  const remote = sourcePath === undefined
  const from = remote ? safeUrl(spec.source) : display(context, sourcePath)
  const base = { subject: 'artifact', target, module: set.owner }
  const fetchStep = (why: string): Step => ({
    ...base,
    action: remote ? 'fetch' : 'copy',
    detail: `${why}from ${from}`,
    apply: async (ctx) => {
      let total: number | undefined = spec.size
      const progress = (received: number) => ctx.progress(target, received, total)
      const chunks = remote ? httpBody(spec.source, ctx.signal, (bytes) => (total ??= bytes)) : fileBody(sourcePath, ctx.signal, `${from} (declared by ${owner(set)})`)
      await writeVerified(path, spec, chunks, progress, remote ? `GET ${from}` : `the copy of ${from}`)
      await verified.remember(path, spec.sha256, (await statOrUndefined(path))!)
      return `${why}from ${from}`
    },
  })
  return (async () => {
    const found = await statOrUndefined(path)
    if (!found) return fetchStep('')
    if (!found.isFile()) throw new PlinthError('PLINTH_ERR_BOOTSTRAP_PATH', `${target} (declared by ${owner(set)} as an artifact) exists but is not a file`)
    const known = (await verified.get())[path]
    if (known && known.sha256 === spec.sha256 && known.size === found.size && known.mtimeMs === found.mtimeMs) return { ...base, action: 'skip', detail: 'verified' }
    if (spec.size !== undefined && found.size !== spec.size) return fetchStep(`size ${found.size} is not the declared ${spec.size}; replacing it `)
    const actual = await hashFile(path, context.signal)
    if (actual !== spec.sha256) return fetchStep(`checksum mismatch (sha256 ${actual.slice(0, 12)}…); replacing it `)
    await verified.remember(path, spec.sha256, found)
    return { ...base, action: 'skip', detail: 'verified' }
  })()
}

/**
 * The built-in artifacts handler (priority 40).
 *
 * @example
 * defineModule({
 *   id: 'vision',
 *   bootstrap: { artifacts: [{ path: 'models/detector.onnx', source: 'https://models.example.com/detector-2.onnx', sha256: 'e3b0c4…', size: 41_200_311 }] },
 * })
 */
export function artifactsHandler(): BootstrapHandler {
  const plan = async (context: BootstrapContext, verified: VerifiedIndex): Promise<Step[]> => {
    const steps: Step[] = []
    const planned = new Set<string>()
    for (const set of context.requirements) {
      for (const spec of set.requirements.artifacts) {
        const path = destination(context, spec.path)
        if (planned.has(path)) continue
        planned.add(path)
        steps.push(await planArtifact(context, set, spec, verified))
      }
    }
    return steps
  }
  const planned = new WeakMap<BootstrapContext, Step[]>()
  return {
    name: 'artifacts',
    priority: 40,
    // A dry run plans with an index that is never saved: it writes nothing.
    plan: async (context) => (planned.get(context) ?? (await plan(context, verifiedIndex(context.dataDir)))).map(actionOf),
    shouldRun: async (context) => {
      const verified = verifiedIndex(context.dataDir)
      const steps = await plan(context, verified)
      planned.set(context, steps)
      // Artifacts verified by hashing are remembered even when nothing needs fetching, so the next boot does not hash them again.
      await verified.save()
      return steps.some((step) => step.apply)
    },
    execute: async (context) => {
      const verified = verifiedIndex(context.dataDir)
      try {
        await applySteps(context, await plan(context, verified))
      } finally {
        await verified.save()
      }
    },
  }
}
