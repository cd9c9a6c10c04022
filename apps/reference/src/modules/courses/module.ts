import { defineModule } from '@plinth/core'
import { jobsGraphql } from './graphql.js'
import { jobBroadcast } from './live.js'
import { generateOutlineHandler } from './outline.js'
import { courseRoutes } from './rest.js'

/**
 * Courses (design document 002, the learning platform): `POST /api/v1/courses` generates a
 * course outline in the background with the conversation module's AI provider, step by step,
 * each step's progress sent to WebSocket (`job:<id>`) and GraphQL subscribers, with
 * `GET /api/v1/jobs/:id` as the polling fallback.
 */
export default defineModule({
  id: 'courses',
  version: '1.0.0',
  dependsOn: { conversation: '^1.0.0' },
  components: [generateOutlineHandler, courseRoutes, jobBroadcast, jobsGraphql],
})
