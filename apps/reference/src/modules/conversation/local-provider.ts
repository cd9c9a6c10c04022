import type { AiProvider, Reply, ReplyRequest } from './provider.js'

const greeting = /^\s*(hi|hello|hey|good (morning|afternoon|evening))\b/i

const answers = [
  'That is a great question! What do you think the answer might be?',
  'I love that you are curious about that. Shall we find out together?',
  'Good thinking! How could we look for the answer?',
]
const prompts = ['Tell me more about that!', 'That sounds interesting. What happened next?', 'How did that make you feel?']

/** A small stable hash (FNV-1a), so that the same words always get the same reply. */
function hash(text: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193)
  return h >>> 0
}

/**
 * The default provider: deterministic, offline, instant. It answers from a few templates, the
 * same message always with the same reply, so that the service runs (and is tested) anywhere,
 * and so that there is always something to fall back on.
 *
 * @example
 * await new LocalProvider().reply({ childId: 'c1', message: 'Hello!', history: [], persona: '' })
 * // { text: "Hello! I'm happy to talk with you. What shall we talk about today?", provider: 'local', fallback: false }
 */
export class LocalProvider implements AiProvider {
  reply(request: ReplyRequest): Promise<Reply> {
    return Promise.resolve({ text: this.write(request.message, request.history.length), provider: 'local', fallback: false })
  }

  write(message: string, turn: number): string {
    if (greeting.test(message)) return turn === 0 ? "Hello! I'm happy to talk with you. What shall we talk about today?" : 'Hello again! What shall we talk about now?'
    const pick = hash(message.toLowerCase())
    if (message.trim().endsWith('?')) return answers[pick % answers.length]!
    return prompts[pick % prompts.length]!
  }
}
