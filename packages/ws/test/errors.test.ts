import { describe, expect, it } from 'vitest'
import { wsErrors, wsHandler } from '../src/index.js'

describe("@plinth/ws's own errors", () => {
  it('refuses a handler without a type, or one named like a built-in message, saying which', () => {
    const declare = (type: string) => () => wsHandler(type, { handle: () => undefined })
    for (const [type, message] of [['', 'wsHandler(type) needs a non-empty message type; got ""'], ['subscribe', '"subscribe" is a built-in message type; name the handler differently']] as const) {
      let error: unknown
      try {
        declare(type)()
      } catch (e) {
        error = e
      }
      expect(wsErrors.is(error, 'PLINTH_ERR_WS_INVALID_HANDLER')).toBe(true)
      expect((error as Error).message).toBe(message)
    }
  })
})
