import { describe } from 'vitest'
import { MemoryAuthStore } from '../src/index.js'
import { describeConformance } from './conformance.js'

describe('MemoryAuthStore', () => {
  describeConformance({ fresh: () => Promise.resolve({ store: new MemoryAuthStore(), cleanup: () => Promise.resolve() }) })
})
