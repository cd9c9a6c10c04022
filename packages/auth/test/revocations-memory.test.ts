import { describe } from 'vitest'
import { MemoryRevocationStore } from '../src/index.js'
import { describeRevocationStore } from './revocations.case.js'

describe('MemoryRevocationStore', () => {
  describeRevocationStore(() => new MemoryRevocationStore())
})
