/**
 * What a chat session keeps, in the session scope of @plinth/state: which child is talking, and
 * the latest turns, so that a client (a tablet app, say) sends only the message and any
 * instance can answer with the conversation so far.
 */
import { state } from '@plinth/state'
import { z } from 'zod'
import { ChildId } from '../conversation/model.js'

/** One turn as the session keeps it. */
export interface Turn {
  readonly message: string
  readonly reply: string
  readonly at: string
}

/** Turns a session keeps; older ones are in the conversation history. */
export const keptTurns = 20

export const sessionChild = state('chat-child').of<string>({ scope: 'session' })
export const sessionTurns = state('chat-turns').of<Turn[]>({ scope: 'session' })

export const SessionInput = z.object({ childId: ChildId })
export const SessionMessage = z.object({ message: z.string().trim().min(1, 'must not be empty').max(2_000) })
