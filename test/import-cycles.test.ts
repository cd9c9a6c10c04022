/**
 * The project keeps zero import cycles among the source files of every package and app, type
 * imports included: leaves (types, event catalogues, tokens) import nothing that imports them
 * back, so that a package reads from its leaves up. This test walks each `packages/<name>/src`
 * and `apps/<name>/src` with TypeScript's own import scanner and names every cycle it finds.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import ts from 'typescript'
import { describe, expect, it } from 'vitest'

const root = resolve(import.meta.dirname, '..')

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) return entry.name === 'node_modules' || entry.name === 'dist' ? [] : sourceFiles(path)
    return /\.(ts|mts|tsx)$/.test(entry.name) && !entry.name.endsWith('.d.ts') ? [path] : []
  })
}

/** Every relative import of a file (static, type-only, re-export and import()), resolved to a source file of the set. */
function importsOf(file: string, known: ReadonlySet<string>): string[] {
  const { importedFiles } = ts.preProcessFile(readFileSync(file, 'utf8'), true, true)
  return importedFiles.flatMap(({ fileName }) => {
    if (!fileName.startsWith('.')) return []
    const base = resolve(dirname(file), fileName)
    const candidates = [base.replace(/\.(m?)js$/, '.$1ts'), base, `${base}.ts`, join(base, 'index.ts')]
    const found = candidates.find((candidate) => known.has(candidate))
    return found === undefined ? [] : [found]
  })
}

/** The strongly connected components of more than one file (Tarjan), plus files that import themselves. */
export function findCycles(edges: ReadonlyMap<string, readonly string[]>): string[][] {
  let next = 0
  const index = new Map<string, number>()
  const low = new Map<string, number>()
  const stack: string[] = []
  const onStack = new Set<string>()
  const cycles: string[][] = []
  const visit = (file: string): void => {
    index.set(file, next)
    low.set(file, next)
    next++
    stack.push(file)
    onStack.add(file)
    for (const target of edges.get(file) ?? []) {
      if (!index.has(target)) {
        visit(target)
        low.set(file, Math.min(low.get(file)!, low.get(target)!))
      } else if (onStack.has(target)) low.set(file, Math.min(low.get(file)!, index.get(target)!))
    }
    if (low.get(file) === index.get(file)) {
      const component: string[] = []
      let member: string
      do {
        member = stack.pop()!
        onStack.delete(member)
        component.push(member)
      } while (member !== file)
      if (component.length > 1 || (edges.get(file) ?? []).includes(file)) cycles.push(component)
    }
  }
  for (const file of edges.keys()) if (!index.has(file)) visit(file)
  return cycles
}

/** One concrete loop through a cycle's files, to print: a -> b -> c -> a. */
function loopThrough(component: readonly string[], edges: ReadonlyMap<string, readonly string[]>): string[] {
  const members = new Set(component)
  const start = [...component].sort()[0]!
  const previous = new Map<string, string>()
  const queue = [start]
  while (queue.length > 0) {
    const file = queue.shift()!
    for (const target of edges.get(file) ?? []) {
      if (!members.has(target)) continue
      if (target === start) {
        const path = [file]
        while (path[0] !== start) path.unshift(previous.get(path[0]!)!)
        return [...path, start]
      }
      if (!previous.has(target)) {
        previous.set(target, file)
        queue.push(target)
      }
    }
  }
  return [...component, start]
}

const sourceRoots = ['packages', 'apps'].flatMap((top) => {
  const dir = join(root, top)
  return existsSync(dir) ? readdirSync(dir).map((name) => join(dir, name, 'src')).filter((src) => existsSync(src)) : []
})

describe('import cycles', () => {
  it.each(sourceRoots.map((src) => [relative(root, src), src]))('%s has none, type imports included', (_name, src) => {
    const files = sourceFiles(src)
    const known = new Set(files)
    const edges = new Map(files.map((file) => [file, importsOf(file, known)]))
    const loops = findCycles(edges).map((component) => {
      const loop = loopThrough(component, edges).map((file) => relative(src, file)).join(' -> ')
      return `${component.length} files (${component.map((file) => relative(src, file)).sort().join(', ')}), e.g. ${loop}`
    })
    expect(loops, `import cycles in ${relative(root, src)} (move the shared part into a leaf both sides import):\n${loops.join('\n')}`).toEqual([])
  })

  it('finds a cycle of two files, a file that imports itself, and none in a chain', () => {
    expect(findCycles(new Map([['a', ['b']], ['b', ['a']], ['c', ['a']]])).map((c) => c.sort())).toEqual([['a', 'b']])
    expect(findCycles(new Map([['a', ['a']]]))).toEqual([['a']])
    expect(findCycles(new Map([['a', ['b']], ['b', ['c']], ['c', []]]))).toEqual([])
  })
})
