import { MemoryStateStore } from '@plinth/state'
import { stateStoreConformance } from './conformance.js'

stateStoreConformance('memory', { open: () => Promise.resolve(new MemoryStateStore()) })
