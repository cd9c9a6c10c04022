/**
 * The memory tier: an LRU bounded by entries and by bytes, with an index from tags to entries
 * so that invalidating a tag touches only its entries. Entries hold decoded values, so a hit
 * costs a map lookup, two pointer moves and a clock read; every caller gets the same object back.
 *
 * Written by hand rather than on lru-cache: each namespace looks its keys up in a map of its own,
 * keyed by the caller's string (whose hash V8 keeps on the string), while one recency list and
 * one budget of entries and bytes span every namespace. No LRU library keeps one bound over
 * several maps; on one lru-cache keyed by `namespace:key`, every read first had to find the
 * joined key in a second map, which doubled the cost of a hit.
 */
import type { Entry } from './entry.js'

export interface MemoryTierOptions {
  /** Most entries held. */
  maxEntries: number
  /** Most bytes held, as estimated from each value's size. */
  maxBytes: number
  /** Called with the namespace of an entry dropped to make room. */
  onEvict(namespace: string): void
}

/** Keys are `namespace:key`; a namespace has no ":" of its own, so the first one splits them. */
export const namespaceOf = (key: string): string => key.slice(0, key.indexOf(':'))

/** One entry, a link in the recency list (least recent first). */
class Node {
  prev: Node | undefined = undefined
  next: Node | undefined = undefined
  constructor(
    readonly space: Space,
    readonly key: string,
    readonly entry: Entry,
    readonly size: number,
  ) {}
}

/** The entries of one namespace, by the key within it. A view holds its namespace's space for good. */
export interface Space {
  readonly name: string
  readonly nodes: Map<string, Node>
}

export class MemoryTier {
  readonly #options: MemoryTierOptions
  readonly #spaces = new Map<string, Space>()
  readonly #tags = new Map<string, Set<Node>>()
  #oldest: Node | undefined
  #newest: Node | undefined
  #size = 0
  #bytes = 0

  constructor(options: MemoryTierOptions) {
    this.#options = options
  }

  get size(): number {
    return this.#size
  }

  /** Bytes held, as estimated. */
  get bytes(): number {
    return this.#bytes
  }

  /** The space of a namespace, made on first use; it lives as long as the tier (clear() empties it). */
  space(namespace: string): Space {
    let space = this.#spaces.get(namespace)
    if (space === undefined) this.#spaces.set(namespace, (space = { name: namespace, nodes: new Map() }))
    return space
  }

  /** The entry of a key in a namespace, now the most recently used; expiry is the caller's to check. */
  read(space: Space, key: string): Entry | undefined {
    const node = space.nodes.get(key)
    if (node === undefined) return undefined
    const next = node.next
    if (next !== undefined) {
      // Not the newest already: take it out (it has a next) and put it after the newest.
      const prev = node.prev
      if (prev === undefined) this.#oldest = next
      else prev.next = next
      next.prev = prev
      const newest = this.#newest!
      newest.next = node
      node.prev = newest
      node.next = undefined
      this.#newest = node
    }
    return node.entry
  }

  /** Stores an entry of `size` bytes, dropping the least recently used ones past either bound. */
  write(space: Space, key: string, entry: Entry, size: number): void {
    const old = space.nodes.get(key)
    if (old !== undefined) this.#remove(old)
    const bytes = Math.max(1, Math.ceil(size))
    // An entry larger than the whole budget is not kept (it would evict everything and then itself).
    if (bytes > this.#options.maxBytes) return
    const node = new Node(space, key, entry, bytes)
    space.nodes.set(key, node)
    this.#append(node)
    this.#size++
    this.#bytes += bytes
    if (entry.t !== undefined) {
      for (const tag of entry.t) {
        let nodes = this.#tags.get(tag)
        if (nodes === undefined) this.#tags.set(tag, (nodes = new Set()))
        nodes.add(node)
      }
    }
    while (this.#size > this.#options.maxEntries || this.#bytes > this.#options.maxBytes) {
      const oldest = this.#oldest!
      this.#remove(oldest)
      this.#options.onEvict(oldest.space.name)
    }
  }

  /** The entry of a full key (`namespace:key`), as read() does. */
  get(full: string): Entry | undefined {
    const at = full.indexOf(':')
    const space = this.#spaces.get(full.slice(0, at))
    return space === undefined ? undefined : this.read(space, full.slice(at + 1))
  }

  /** Stores an entry under a full key (`namespace:key`), as write() does. */
  set(full: string, entry: Entry, size: number): void {
    const at = full.indexOf(':')
    this.write(this.space(full.slice(0, at)), full.slice(at + 1), entry, size)
  }

  /** Drops a full key (`namespace:key`). */
  delete(full: string): void {
    const at = full.indexOf(':')
    const node = this.#spaces.get(full.slice(0, at))?.nodes.get(full.slice(at + 1))
    if (node !== undefined) this.#remove(node)
  }

  /** Drops every entry of a namespace. */
  deleteNamespace(namespace: string): void {
    const space = this.#spaces.get(namespace)
    if (space !== undefined) for (const node of [...space.nodes.values()]) this.#remove(node)
  }

  /** Drops every entry carrying one of `tags` (full tags, `namespace:tag`). */
  deleteTags(tags: readonly string[]): void {
    for (const tag of tags) {
      const nodes = this.#tags.get(tag)
      if (nodes === undefined) continue
      for (const node of [...nodes]) this.#remove(node)
      this.#tags.delete(tag)
    }
  }

  clear(): void {
    for (const space of this.#spaces.values()) space.nodes.clear()
    this.#tags.clear()
    this.#oldest = this.#newest = undefined
    this.#size = this.#bytes = 0
  }

  #remove(node: Node): void {
    this.#unlink(node)
    node.space.nodes.delete(node.key)
    this.#size--
    this.#bytes -= node.size
    const tags = node.entry.t
    if (tags === undefined) return
    for (const tag of tags) {
      const nodes = this.#tags.get(tag)
      if (nodes === undefined) continue
      nodes.delete(node)
      if (nodes.size === 0) this.#tags.delete(tag)
    }
  }

  #unlink(node: Node): void {
    if (node.prev === undefined) this.#oldest = node.next
    else node.prev.next = node.next
    if (node.next === undefined) this.#newest = node.prev
    else node.next.prev = node.prev
    node.prev = node.next = undefined
  }

  #append(node: Node): void {
    node.prev = this.#newest
    if (this.#newest === undefined) this.#oldest = node
    else this.#newest.next = node
    this.#newest = node
  }
}
