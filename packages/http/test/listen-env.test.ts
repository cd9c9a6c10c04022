import { createApp } from '@plinth/core'
import { startTestApp } from '@plinth/core/testing'
import { describe, expect, it } from 'vitest'
import { httpServer } from '../src/index.js'

describe('the HTTP server reads its port from the app, never from process.env', () => {
  it('starts with startTestApp(app, { env: { HTTP_PORT: "0" } }) on a machine whose HTTP_PORT is not a port', async () => {
    const machine = process.env.HTTP_PORT
    process.env.HTTP_PORT = 'not-a-port'
    try {
      await using t = await startTestApp(createApp({ name: 'env', components: [httpServer()], logging: { level: 'silent' } }), { env: { HTTP_PORT: '0' } })
      const url = t.app.endpoints().find((e) => e.name === 'http')!.url
      expect(Number(new URL(url).port)).toBeGreaterThan(0)
      expect((await fetch(new URL('/health/live', url))).status).toBe(200)
    } finally {
      if (machine === undefined) delete process.env.HTTP_PORT
      else process.env.HTTP_PORT = machine
    }
  })
})
