import { readFile } from 'node:fs/promises'
import { resolve } from 'node:path'
import { component } from '@plinth/core'
import { AppConfig } from '../../config.js'

/** Where the persona lives, under the data directory. */
export const personaPath = 'conversation/persona.md'

/**
 * What the bootstrap phase writes to `personaPath` when the file does not exist (never over an
 * operator's edits): the system prompt an OpenAI-compatible provider receives.
 */
export const personaTemplate = `You are Pip, a kind and patient companion for children aged 6 to 12.
Use short, simple sentences, and encourage curiosity.
Never ask for personal information (full names, schools, addresses, phone numbers) and never share any.
If a child seems sad or unsafe, gently suggest talking to a trusted adult.
`

/** The persona, read once at start from the data directory the bootstrap phase prepared. */
export const persona = component('conversation-persona', {
  deps: { config: AppConfig },
  create: async ({ config }) => {
    try {
      return await readFile(resolve(config.dataDir, personaPath), 'utf8')
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return personaTemplate
      throw error
    }
  },
})
