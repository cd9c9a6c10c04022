import { defineModule } from '@plinth/core'
import { aiProvider, conversation, conversationStore } from './components.js'
import { conversationGraphql } from './graphql.js'
import { conversationMigrations } from './migrations.js'
import { persona, personaPath, personaTemplate } from './persona.js'
import { aiRemoteCheck } from './remote-switch.js'
import { conversationRoutes } from './rest.js'
import { safetyScreen } from './safety.js'
import { conversationHistory, conversationSend } from './ws.js'

/**
 * Conversation (design document 000, the AI companion): a child's message gets a reply over
 * REST, WebSocket messages or a GraphQL mutation; every message and reply passes the safety
 * filter; the history is stored. Replies come from the provider the configuration names.
 */
export default defineModule({
  id: 'conversation',
  version: '1.0.0',
  required: true,
  components: [
    conversationMigrations,
    conversationStore,
    safetyScreen,
    persona,
    aiProvider,
    aiRemoteCheck,
    conversation,
    conversationRoutes,
    conversationSend,
    conversationHistory,
    conversationGraphql,
  ],
  bootstrap: {
    // The companion's persona, written once for operators to edit; never overwritten.
    files: [{ path: personaPath, content: personaTemplate }],
  },
})
