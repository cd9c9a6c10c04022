import type { Library } from './library.js'

/**
 * Every contender by name, Plinth first (the tables compare each row to it). Each is loaded on
 * its own, so that a worker measuring one library never loads another.
 */
export const libraryLoaders: Readonly<Record<string, () => Promise<Library>>> = {
  Plinth: async () => (await import('./plinth.js')).plinth,
  'hand-wired': async () => (await import('./hand.js')).hand,
  'typed-inject': async () => (await import('./typed-inject.js')).typedInject,
  inversify: async () => (await import('./inversify.js')).inversify,
  tsyringe: async () => (await import('./tsyringe.js')).tsyringe,
  awilix: async () => (await import('./awilix.js')).awilix,
  NestJS: async () => (await import('./nest.js')).nest,
}

export const libraryNames: readonly string[] = Object.keys(libraryLoaders)

/** Loads every library into this thread. */
export async function loadLibraries(): Promise<Library[]> {
  return Promise.all(libraryNames.map((name) => libraryLoaders[name]!()))
}
