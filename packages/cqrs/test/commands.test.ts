import { describe, expect, it } from 'vitest'
import { component, createApp, isPlinthError, provide, statusOf } from '@plinth/core'
import { startTestApp } from '@plinth/core/testing'
import { z } from 'zod'
import { CommandMiddlewares, command, handleCommand, retryOnConflict, cqrsErrors, type CommandMiddleware } from '../src/index.js'

const RenameDevice = command('rename-device').of<{ id: string; name: string }, { renamed: string }>({ schema: z.object({ id: z.string().min(1), name: z.string().min(1).max(40) }) })

const devicesUi = component('devices-ui', { deps: { rename: RenameDevice }, create: ({ rename }) => ({ rename }) })

function recorder(name: string, order: number, log: string[]): CommandMiddleware {
  return {
    name,
    order,
    async handle(context, next) {
      log.push(`${name}>`)
      const result = await next()
      log.push(`<${name}`)
      return result
    },
  }
}

describe('the command bus', () => {
  it('reports a command nobody handles at check, naming the command and who sends it', async () => {
    const app = createApp({ name: 'ui', logging: { level: 'silent' }, components: [devicesUi] as never })
    const report = await app.check()
    expect(report.problems.map((p) => p.message).join('\n')).toMatch(/command:rename-device/)
    expect(report.problems.map((p) => p.message).join('\n')).toMatch(/devices-ui/)
  })

  it('runs the middleware in their declared order around the one handler, and returns its result', async () => {
    const log: string[] = []
    const handler = handleCommand(RenameDevice, { handle: ({ name }) => (log.push('handler'), { renamed: name }) })
    const app = createApp({
      name: 'ui',
      logging: { level: 'silent' },
      components: [devicesUi, handler, provide(CommandMiddlewares, { value: recorder('metrics', 200, log) }), provide(CommandMiddlewares, { value: recorder('logging', 100, log) })],
    })
    const t = await startTestApp(app)
    try {
      const ui = await t.resolve(devicesUi)
      expect(await ui.rename({ id: 'd-1', name: 'kitchen' })).toEqual({ renamed: 'kitchen' })
      expect(log).toEqual(['logging>', 'metrics>', 'handler', '<metrics', '<logging'])
    } finally {
      await t.stop()
    }
  })

  it('refuses invalid input before any middleware or the handler runs, naming each field, as a 422', async () => {
    const log: string[] = []
    const app = createApp({ name: 'ui', logging: { level: 'silent' }, components: [devicesUi, handleCommand(RenameDevice, { handle: ({ name }) => (log.push('handler'), { renamed: name }) }), provide(CommandMiddlewares, { value: recorder('logging', 100, log) })] })
    const t = await startTestApp(app)
    try {
      const error = await (await t.resolve(devicesUi)).rename({ id: '', name: 'x'.repeat(41) }).catch((e: unknown) => e)
      expect(isPlinthError(error, 'PLINTH_ERR_COMMAND_INVALID')).toBe(true)
      expect((error as Error).message).toMatch(/^command "rename-device" is invalid: id: .+; name: .+/)
      expect(statusOf(error)).toBe(422)
      expect(log).toEqual([])
    } finally {
      await t.stop()
    }
  })

  it('retries a handler that lost an optimistic-concurrency race, and gives up after the attempts allowed', async () => {
    let calls = 0
    let losses = 1
    const flaky = handleCommand(RenameDevice, {
      handle: ({ name }) => {
        calls++
        if (losses-- > 0) throw cqrsErrors.create('PLINTH_ERR_EVENTS_CONFLICT', 'stream "device-d-1" is at version 2, but the append expected version 1')
        return { renamed: name }
      },
    })
    const app = createApp({ name: 'ui', logging: { level: 'silent' }, components: [devicesUi, flaky, provide(CommandMiddlewares, { value: retryOnConflict({ attempts: 3 }) })] })
    const t = await startTestApp(app)
    try {
      const ui = await t.resolve(devicesUi)
      expect(await ui.rename({ id: 'd-1', name: 'hall' })).toEqual({ renamed: 'hall' })
      expect(calls).toBe(2)
      calls = 0
      losses = 10
      const error = await ui.rename({ id: 'd-1', name: 'hall' }).catch((e: unknown) => e)
      expect(isPlinthError(error, 'PLINTH_ERR_EVENTS_CONFLICT')).toBe(true)
      expect(calls).toBe(3)
    } finally {
      await t.stop()
    }
  })
})
