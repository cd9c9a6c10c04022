import { createServer } from 'node:net'
import { status } from '@grpc/grpc-js'
import { HealthChecks, PlinthError, component, currentCausation, createApp, provide, type AnyProvider } from '@plinth/core'
import { startTestApp } from '@plinth/core/testing'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { GrpcServices, grpcServer, grpcService, type GrpcImplementation, type GrpcServerOptions } from '../src/index.js'
import { clients, greeterProto } from './clients.js'

const silent = { level: 'silent' } as const
const cleanup: Array<() => unknown> = []
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn()
})

let instances = 0
const failures: Record<string, () => Error> = {
  'not-found': () => Object.assign(new Error('no greeting for Bob'), { status: 404 }),
  validation: () => Object.assign(new Error('name is required'), { issues: [{ message: 'Required', path: ['name'] }] }),
  'circuit-open': () => new PlinthError('PLINTH_ERR_CIRCUIT_OPEN', 'the database circuit is open'),
  precondition: () => Object.assign(new Error('not yet'), { code: status.FAILED_PRECONDITION }),
  crash: () => new Error('connection string postgres://admin:hunter2@db'),
}

/** A scoped implementation: a new instance for every call. */
const GreeterImpl = component('greeter-impl', {
  lifetime: 'scoped',
  create: (): GrpcImplementation => {
    const instance = ++instances
    return {
      SayHello: async ({ name }: { name: string }) => {
        // "causation": what a publish in the method would carry, after an await as in real methods.
        if (name !== 'causation') return { message: `hello, ${name}`, instance }
        await new Promise((resolve) => setTimeout(resolve, 1))
        return { message: JSON.stringify(currentCausation() ?? null), instance }
      },
      async *CountTo({ to }: { to: number }) {
        for (let n = 1; n <= to; n++) yield { n }
      },
      async Sum(numbers: AsyncIterable<{ value: number }>) {
        let sum = 0
        for await (const { value } of numbers) sum += value
        return { sum }
      },
      async *Chat(requests: AsyncIterable<{ name: string }>) {
        for await (const { name } of requests) yield { message: `hi ${name}`, instance }
      },
      Fail: ({ kind }: { kind: string }) => {
        throw failures[kind]!()
      },
      Wait: async ({ ms }: { ms: number }, { signal }) => {
        await new Promise((resolve) => setTimeout(resolve, ms))
        return { message: signal.aborted ? 'cancelled' : `waited ${ms}` }
      },
    }
  },
})

const greeterService = (checks?: string[]) =>
  grpcService({ proto: greeterProto, service: 'greet.v1.Greeter', implementation: GreeterImpl, ...(checks ? { checks } : {}) })

async function start(options: GrpcServerOptions = {}, extra: AnyProvider[] = [], service = greeterService()) {
  const server = grpcServer({ port: 0, ...options })
  const app = createApp({ name: 'grpc-test', components: [server, GreeterImpl, service, ...extra], logging: silent })
  const t = await startTestApp(app)
  cleanup.push(() => t.stop().catch(() => undefined))
  const url = app.endpoints().find((e) => e.name === 'grpc')!.url
  const c = clients(url)
  cleanup.push(() => c.close())
  return { t, app, url, server: t.get(server), ...c }
}

const serving = async (check: () => Promise<{ status: string }>, expected = 'SERVING') => expect.poll(async () => (await check()).status, { timeout: 5_000 }).toBe(expected)

describe('the gRPC server', () => {
  it('serves a registered service, resolving the implementation in a new request scope per call', async () => {
    const { call } = await start()
    const first = await call('SayHello', { name: 'Ada' })
    const second = await call('SayHello', { name: 'Bob' })
    expect(first.message).toBe('hello, Ada')
    expect(second.instance).not.toBe(first.instance)
  })

  it("runs each call with the caller's correlation id, else the call's own id, and the call as the cause", async () => {
    const { call } = await start()
    const causation = async (metadata?: Record<string, string>) => JSON.parse((await call('SayHello', { name: 'causation' }, metadata)).message as string) as { correlationId: string; causationId: string }
    expect(await causation({ 'x-correlation-id': 'checkout-19', 'x-request-id': 'req-7' })).toEqual({ correlationId: 'checkout-19', causationId: 'req-7' })
    expect(await causation({ 'x-correlation-id': 'not plain; at all', 'x-request-id': 'req-8' })).toEqual({ correlationId: 'req-8', causationId: 'req-8' })
    const own = await causation()
    expect(own.correlationId).toMatch(/^[0-9a-f-]{36}$/)
    expect(own.causationId).toBe(own.correlationId)
  })

  it('streams responses, requests, and both', async () => {
    const { greeter } = await start()
    const counted: number[] = []
    await new Promise<void>((resolve, reject) => {
      const stream = greeter.CountTo!({ to: 3 })
      stream.on('data', ({ n }: { n: number }) => counted.push(n))
      stream.on('end', resolve)
      stream.on('error', reject)
    })
    expect(counted).toEqual([1, 2, 3])
    const total = await new Promise<{ sum: number }>((resolve, reject) => {
      const stream = greeter.Sum!((error: Error | null, response: { sum: number }) => (error ? reject(error) : resolve(response)))
      for (const value of [1, 2, 39]) stream.write({ value })
      stream.end()
    })
    expect(total.sum).toBe(42)
    const replies: string[] = []
    await new Promise<void>((resolve, reject) => {
      const chat = greeter.Chat!()
      chat.on('data', ({ message }: { message: string }) => replies.push(message))
      chat.on('end', resolve)
      chat.on('error', reject)
      chat.write({ name: 'a' })
      chat.write({ name: 'b' })
      chat.end()
    })
    expect(replies).toEqual(['hi a', 'hi b'])
  })

  it('maps errors to gRPC status codes, and never sends an internal error\'s message', async () => {
    const { call } = await start()
    const failure = (kind: string) => call('Fail', { kind }).then(() => undefined, (error: { code: number; details: string }) => error)
    expect(await failure('not-found')).toMatchObject({ code: status.NOT_FOUND, details: 'no greeting for Bob' })
    expect(await failure('validation')).toMatchObject({ code: status.INVALID_ARGUMENT })
    expect(await failure('circuit-open')).toMatchObject({ code: status.UNAVAILABLE })
    expect(await failure('precondition')).toMatchObject({ code: status.FAILED_PRECONDITION, details: 'not yet' })
    const crash = await failure('crash')
    expect(crash).toMatchObject({ code: status.INTERNAL })
    expect(crash?.details).not.toContain('hunter2')
    await expect(call('Missing', { name: 'x' })).rejects.toMatchObject({ code: status.UNIMPLEMENTED, details: expect.stringContaining('Missing') })
  })

  it('answers grpc.health.v1 Check for the app, each service and each check; NOT_FOUND for unknown names', async () => {
    const { check } = await start()
    await serving(() => check(''))
    await serving(() => check('greet.v1.Greeter'))
    await serving(() => check('grpc-server'))
    await expect(check('no.such.Service')).rejects.toMatchObject({ code: status.NOT_FOUND })
  })

  it('reports a service NOT_SERVING while a health check it needs is down, the app still SERVING', async () => {
    const payments = provide(HealthChecks, { value: { name: 'payments', critical: false, check: () => 'down' as const } })
    const { check } = await start({}, [payments], greeterService(['payments']))
    await serving(() => check(''))
    await serving(() => check('payments'), 'NOT_SERVING')
    expect((await check('greet.v1.Greeter')).status).toBe('NOT_SERVING')
  })

  it('answers Watch of an unknown service with SERVICE_UNKNOWN and keeps the stream open', async () => {
    const { watch } = await start()
    const unknown = watch('no.such.Service')
    await unknown.until('SERVICE_UNKNOWN')
    unknown.stream.cancel()
    expect((await unknown.ended).code).toBe(status.CANCELLED)
  })

  it('at shutdown sends NOT_SERVING to Watch streams, ends them, and lets calls in flight finish', async () => {
    const { t, watch, call, check, server } = await start()
    await serving(() => check(''))
    const overall = watch('')
    await overall.until('SERVING')
    const inFlight = call('Wait', { ms: 300 })
    await expect.poll(() => server.activeCalls).toBe(1)
    const stopping = t.stop()
    // Draining: the listener is still there, and a health Check reads NOT_SERVING (not UNAVAILABLE).
    await new Promise((resolve) => setTimeout(resolve, 100))
    expect((await check('')).status).toBe('NOT_SERVING')
    await stopping
    expect(await inFlight).toMatchObject({ message: 'waited 300' })
    expect(overall.statuses).toEqual(['SERVING', 'NOT_SERVING'])
    expect((await overall.ended).code).toBe(status.OK)
    await expect(call('SayHello', { name: 'late' })).rejects.toMatchObject({ code: status.UNAVAILABLE })
  })

  it('cancels calls still running when the drain time runs out, and fails the stop', async () => {
    const { t, app, call, server } = await start({ drainTimeout: 100 })
    const stuck = call('Wait', { ms: 3_000 }).catch((error: { code: number }) => error)
    await expect.poll(() => server.activeCalls).toBe(1)
    const began = performance.now()
    const report = await app.stop('test')
    expect(performance.now() - began).toBeLessThan(1_500)
    expect(report.failures.map((f) => [f.component, (f.error as { code?: string }).code])).toEqual([['grpc-server', 'PLINTH_ERR_GRPC_DRAIN_CUT']])
    void t
    expect(await stuck).toMatchObject({ code: status.CANCELLED })
  })

  it('serves reflection (v1 and v1alpha) listing the registered and health services and describing their files', async () => {
    const { reflection, reflectionV1alpha } = await start()
    type Response = { list_services_response?: { service: { name: string }[] }; file_descriptor_response?: { file_descriptor_proto: Buffer[] }; error_response?: { error_code: number } }
    const ask = (client: typeof reflection, request: object) =>
      new Promise<Response>((resolve, reject) => {
        const stream = client.ServerReflectionInfo!()
        stream.on('data', (response: Response) => {
          resolve(response)
          stream.end()
        })
        stream.on('error', reject)
        stream.write(request)
      })
    for (const client of [reflection, reflectionV1alpha]) {
      const listed = await ask(client, { list_services: '*' })
      expect(listed.list_services_response?.service.map((s) => s.name)).toEqual(expect.arrayContaining(['greet.v1.Greeter', 'grpc.health.v1.Health']))
      const described = await ask(client, { file_containing_symbol: 'greet.v1.Greeter' })
      expect(Buffer.concat(described.file_descriptor_response!.file_descriptor_proto).toString('latin1')).toContain('SayHello')
      expect((await ask(client, { file_containing_symbol: 'no.such.Service' })).error_response?.error_code).toBe(status.NOT_FOUND)
    }
  })

  it('fails to start naming the port when it is taken, and naming the service when the proto lacks it', async () => {
    const blocker = createServer()
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve))
    cleanup.push(() => new Promise((resolve) => blocker.close(resolve)))
    const port = (blocker.address() as { port: number }).port
    const busy = createApp({ name: 'grpc-busy', components: [grpcServer({ port }), GreeterImpl, greeterService()], logging: silent })
    const { setLogger } = await import('@grpc/grpc-js')
    setLogger(console)
    const consoleError = vi.spyOn(console, 'error').mockImplementation(() => undefined)
    try {
      await expect(startTestApp(busy)).rejects.toThrow(`the gRPC server cannot listen on 127.0.0.1:${port} (port from option): the port is already in use`)
      // grpc-js's own "E No address added ..." goes to the app's log, not to the terminal.
      expect(consoleError.mock.calls.filter((args) => args.join(' ').includes('No address added'))).toEqual([])
    } finally {
      consoleError.mockRestore()
    }
    const wrong = grpcService({ proto: greeterProto, service: 'greet.v1.Nope', implementation: GreeterImpl })
    const bad = createApp({ name: 'grpc-bad', components: [grpcServer({ port: 0 }), GreeterImpl, wrong], logging: silent })
    await expect(startTestApp(bad)).rejects.toThrow(/PLINTH_ERR_INVALID_GRPC_SERVICE[\s\S]*greet\.v1\.Nope[\s\S]*greet\.v1\.Greeter/)
  })

  it('a port taken between the check and the listen fails with the socket error as its one cause', async () => {
    const probe = createServer()
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve))
    const port = (probe.address() as { port: number }).port
    await new Promise((resolve) => probe.close(resolve))
    // Takes the port in its own start, after the port check and before the gRPC server binds (a service's provider depends on it).
    const squatter = component('squatter', {
      eager: true,
      create: () => createServer(),
      start: (server) => new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve)),
      stop: (server) => new Promise<void>((resolve) => server.close(() => resolve())),
    })
    const service = provide(GrpcServices, { deps: { squatter }, create: () => ({ proto: [greeterProto], service: 'greet.v1.Greeter', implementation: GreeterImpl }) })
    const app = createApp({ name: 'grpc-race', components: [grpcServer({ port }), GreeterImpl, squatter, service], logging: silent })
    const { setLogger } = await import('@grpc/grpc-js')
    setLogger(console)
    const consoleError = vi.spyOn(console, 'error').mockImplementation(() => undefined)
    const failure = await startTestApp(app).catch((error: unknown) => error)
    const printed = consoleError.mock.calls.map((args) => args.join(' '))
    consoleError.mockRestore()
    // grpc-js's own "E No address added ..." goes to the app's log, not to the terminal.
    expect(printed.filter((line) => line.includes('No address added'))).toEqual([])
    const listen = (failure as { details: { failures: Array<{ error: PlinthError }> } }).details.failures[0]!.error
    expect(listen.describe()).toBe(
      `PLINTH_ERR_LISTEN_FAILED: the gRPC server cannot listen on 127.0.0.1:${port} (port from option): the port is already in use\n` +
        `  hint: Set GRPC_PORT to a free port (0 picks one), or stop the process holding ${port}.\n` +
        `  cause: Error: listen EADDRINUSE: address already in use 127.0.0.1:${port}`,
    )
  })
})
