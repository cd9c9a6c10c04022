import { createServer } from 'node:net'
import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { bindNetServer, createApp, defineConfig, isPlinthError, listenOn, metricsServer } from '../src/index.js'
import { startTestApp } from '../src/testing.js'

const metrics = { server: 'metrics', key: 'metrics', env: 'METRICS_PORT', port: 9090 }
const bare = { config: undefined, env: {} }

describe('listenOn, the listener every server uses', () => {
  it('binds where the options say and gives back what the bind resolved', async () => {
    const server = createServer()
    try {
      const { address, bound } = await listenOn(bare, metrics, { port: 0 }, (at) => bindNetServer(server, at))
      expect(address).toEqual({ host: '127.0.0.1', port: 0, source: 'option' })
      expect(typeof bound === 'object' && bound !== null && bound.port > 0).toBe(true)
    } finally {
      server.close()
    }
  })

  it('turns a failed bind into PLINTH_ERR_LISTEN_FAILED naming the server, the address, where the port came from and the env to set', async () => {
    const taken = createServer()
    const { bound } = await listenOn(bare, metrics, { port: 0 }, (at) => bindNetServer(taken, at))
    const port = (bound as { port: number }).port
    const second = createServer()
    try {
      const failure = await listenOn(bare, metrics, { port }, (at) => bindNetServer(second, at)).catch((error: unknown) => error)
      expect(isPlinthError(failure, 'PLINTH_ERR_LISTEN_FAILED')).toBe(true)
      expect((failure as Error).message).toBe(`the metrics server cannot listen on 127.0.0.1:${port} (port from option): the port is already in use`)
      expect((failure as { hint: string }).hint).toMatch(/^Set METRICS_PORT to a free port/)
    } finally {
      taken.close()
      second.close()
    }
  })

  it('refuses a port that is not one before binding anything', async () => {
    let bound = false
    const attempt = listenOn({ config: undefined, env: { METRICS_PORT: 'not-a-port' } }, metrics, {}, async () => {
      bound = true
    })
    await expect(attempt).rejects.toThrow('metrics port "not-a-port" (from env METRICS_PORT) is not a port number')
    expect(bound).toBe(false)
  })
})

describe('one path for every setting: a server reads the app, never process.env', () => {
  const silent = { level: 'silent' } as const

  it('listens on the port the test app was started with, whatever the machine has in METRICS_PORT', async () => {
    const machine = process.env.METRICS_PORT
    process.env.METRICS_PORT = 'not-a-port'
    try {
      await using t = await startTestApp(createApp({ name: 'env', components: [metricsServer()], logging: silent }), { env: { METRICS_PORT: '0' } })
      expect(Number(new URL(t.app.endpoints()[0]!.url).port)).toBeGreaterThan(0)
    } finally {
      if (machine === undefined) delete process.env.METRICS_PORT
      else process.env.METRICS_PORT = machine
    }
  })

  it('names the source that set a configured port: the environment, not "config"', async () => {
    const Config = defineConfig({ schema: z.object({ metrics: z.object({ port: z.coerce.number().int().optional() }).prefault({}) }) })
    await using first = await startTestApp(createApp({ name: 'first', components: [metricsServer({ port: 0 })], logging: silent }))
    const port = new URL(first.app.endpoints()[0]!.url).port
    const second = createApp({ name: 'second', config: Config, components: [metricsServer()], logging: silent })
    await expect(startTestApp(second, { env: { METRICS_PORT: port } })).rejects.toThrow(`the metrics server cannot listen on 127.0.0.1:${port} (port from env METRICS_PORT): the port is already in use`)
    const third = createApp({ name: 'third', config: Config, components: [metricsServer()], logging: silent })
    await expect(startTestApp(third, { argv: [`--metrics.port=${port}`] })).rejects.toThrow(`(port from --metrics.port)`)
  })
})
