import { MemoryRegistry } from '@plinth/discovery'
import { registryConformance } from './conformance.js'

registryConformance('memory', { create: async ({ ttl }) => new MemoryRegistry({ ttl }) })
