import { defineModule } from '@plinth/core'
import { chatSessionRoutes } from './routes.js'

/**
 * Chat sessions: the conversation over a cookie session whose state (the child, the latest
 * turns) lives in @plinth/state, on Redis when REDIS_URL is set, so any instance can serve the
 * next message of a session.
 */
export default defineModule({
  id: 'chat-session',
  version: '1.0.0',
  dependsOn: { conversation: '^1.0.0' },
  components: [chatSessionRoutes],
})
