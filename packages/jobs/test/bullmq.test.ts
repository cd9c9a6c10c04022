import { randomBytes } from 'node:crypto'
import { probeService } from '@plinth/core/testing'
import { describe } from 'vitest'
import { BullmqQueue } from '../src/index.js'
import { describeConformance } from './conformance.js'

const REDIS_URL = process.env.PLINTH_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379'
const redis = await probeService('Redis', { host: new URL(REDIS_URL).hostname, port: Number(new URL(REDIS_URL).port || 6379) })

describe.skipIf(!redis.available)(redis.title('the BullMQ backend on Redis'), () => {
  describeConformance({
    kind: 'bullmq',
    fresh: () => {
      // A key prefix of this run's own, every key under it removed at the end.
      const prefix = `plinth-jobs-test-${process.pid}-${randomBytes(4).toString('hex')}`
      return Promise.resolve({
        components: [],
        options: { url: REDIS_URL, prefix },
        childEnv: { JOBS_TEST_URL: REDIS_URL, JOBS_TEST_PREFIX: prefix },
        cleanup: async () => {
          const queue = new BullmqQueue({ url: REDIS_URL, prefix })
          await queue.obliterate()
          await queue.close()
        },
      })
    },
  })
})
