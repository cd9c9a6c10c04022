import type { Kysely } from 'kysely'
import type { Exchange } from './model.js'

/** The conversation table, as the migrations create it. */
export interface ConversationTables {
  conversation_exchanges: { id: string; child_id: string; message: string; reply: string; provider: string; fallback: number; at: string }
}

/** Conversation history, on the app's database. */
export class ConversationStore {
  readonly #db: Kysely<ConversationTables>

  constructor(db: Kysely<ConversationTables>) {
    this.#db = db
  }

  async insert(exchange: Exchange): Promise<void> {
    const { childId, fallback, ...rest } = exchange
    await this.#db
      .insertInto('conversation_exchanges')
      .values({ ...rest, child_id: childId, fallback: fallback ? 1 : 0 })
      .execute()
  }

  /** A child's latest `limit` exchanges, oldest first. */
  async history(childId: string, limit: number): Promise<Exchange[]> {
    const rows = await this.#db.selectFrom('conversation_exchanges').selectAll().where('child_id', '=', childId).orderBy('at', 'desc').orderBy('id', 'desc').limit(limit).execute()
    return rows.reverse().map(({ child_id, fallback, ...rest }) => ({ ...rest, childId: child_id, fallback: fallback === 1 }))
  }
}
