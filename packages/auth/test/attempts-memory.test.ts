import { describe } from 'vitest'
import { MemoryAttemptCounter } from '../src/index.js'
import { describeAttemptCounter } from './attempts.case.js'

describe('MemoryAttemptCounter', () => {
  describeAttemptCounter(() => new MemoryAttemptCounter())
})
