import { once, type EventEmitter } from 'node:events'
import type { sendUnaryData, ServerDuplexStream, ServerReadableStream, ServerUnaryCall, ServerWritableStream, UntypedServiceImplementation } from '@grpc/grpc-js'
import type { ServiceDefinition } from '@grpc/grpc-js'
import { status } from '@grpc/grpc-js'
import { randomUUID } from 'node:crypto'
import { callerCorrelation, withCorrelation, type Container, type Logger } from '@plinth/core'
import type { GrpcContext, GrpcImplementation, GrpcMethod, GrpcServiceRegistration } from './services.js'
import { toGrpcStatus } from './status-mapping.js'

type AnyCall = Pick<ServerUnaryCall<unknown, unknown>, 'metadata' | 'getPeer' | 'getPath' | 'sendMetadata'> & EventEmitter

/** Calls still running, so that shutdown can report and wait for them. */
export type CallTracker = Set<Promise<unknown>>

/**
 * Adapts a service implementation to grpc-js: every call opens a request scope, resolves the
 * implementation in it, runs the method with a context (metadata, an abort signal, the peer),
 * maps a thrown error to a gRPC status, and disposes the scope when the call ends.
 */
export function bindService(
  definition: ServiceDefinition,
  registration: GrpcServiceRegistration,
  container: Container,
  log: Logger,
  inFlight: CallTracker,
): UntypedServiceImplementation {
  const handlers: UntypedServiceImplementation = {}
  for (const [name, method] of Object.entries(definition)) {
    const names = [name, method.originalName].filter((n): n is string => typeof n === 'string')
    const run = <R>(call: AnyCall, body: (fn: GrpcMethod, context: GrpcContext) => Promise<R>): Promise<R> => {
      const task = inScope(container, call, registration, names, body)
      inFlight.add(task)
      void task.catch(() => undefined).finally(() => inFlight.delete(task))
      return task
    }
    const fail = (call: AnyCall, error: unknown) => {
      const grpcStatus = toGrpcStatus(error)
      if (grpcStatus.internal) log.error({ err: error, method: call.getPath() }, `gRPC ${call.getPath()} failed`)
      else log.debug({ err: error, method: call.getPath(), code: status[grpcStatus.code] }, `gRPC ${call.getPath()} refused the call`)
      return Object.assign(new Error(grpcStatus.details), { code: grpcStatus.code, details: grpcStatus.details, metadata: grpcStatus.metadata })
    }
    if (!method.requestStream && !method.responseStream) {
      handlers[name] = (call: ServerUnaryCall<unknown, unknown>, callback: sendUnaryData<unknown>) => {
        run(call, async (fn, context) => (await fn(call.request, context)) ?? {}).then(
          (response) => callback(null, response),
          (error: unknown) => callback(fail(call, error)),
        )
      }
    } else if (!method.requestStream) {
      handlers[name] = (call: ServerWritableStream<unknown, unknown>) => {
        run(call, (fn, context) => pipe(fn(call.request, context), call, context.signal)).then(
          () => call.end(),
          (error: unknown) => call.emit('error', fail(call, error)),
        )
      }
    } else if (!method.responseStream) {
      handlers[name] = (call: ServerReadableStream<unknown, unknown>, callback: sendUnaryData<unknown>) => {
        run(call, async (fn, context) => (await fn(requests(call), context)) ?? {}).then(
          (response) => callback(null, response),
          (error: unknown) => callback(fail(call, error)),
        )
      }
    } else {
      handlers[name] = (call: ServerDuplexStream<unknown, unknown>) => {
        run(call, (fn, context) => pipe(fn(requests(call), context), call, context.signal)).then(
          () => call.end(),
          (error: unknown) => call.emit('error', fail(call, error)),
        )
      }
    }
  }
  return handlers
}

async function inScope<R>(
  container: Container,
  call: AnyCall,
  registration: GrpcServiceRegistration,
  names: string[],
  body: (fn: GrpcMethod, context: GrpcContext) => Promise<R>,
): Promise<R> {
  const cancelled = new AbortController()
  const onCancel = () => cancelled.abort(Object.assign(new Error('the call was cancelled'), { status: 499 }))
  call.once('cancelled', onCancel)
  const context: GrpcContext = {
    metadata: call.metadata,
    signal: cancelled.signal,
    peer: call.getPeer(),
    path: call.getPath(),
    sendMetadata: (metadata) => call.sendMetadata(metadata),
  }
  const scope = container.createScope('request')
  // The call is the cause of what its method publishes, as an HTTP request is.
  const callId = callerCorrelation(textValues(call.metadata.get('x-request-id'))) ?? randomUUID()
  const correlationId = callerCorrelation(textValues(call.metadata.get('x-correlation-id'))) ?? callId
  try {
    return await withCorrelation(correlationId, () => scope.run(async () => {
      const implementation = await container.resolve(registration.implementation)
      return body(methodOf(implementation, names, registration.service), context)
    }), callId)
  } finally {
    call.off('cancelled', onCancel)
    await scope.dispose()
  }
}

/** The text values of a metadata key (binary ones, `-bin` keys, are not ids). */
function textValues(values: ReadonlyArray<string | Buffer>): string[] {
  return values.filter((value): value is string => typeof value === 'string')
}

function methodOf(implementation: GrpcImplementation, names: string[], service: string): GrpcMethod {
  for (const name of names) {
    const fn = implementation[name]
    if (typeof fn === 'function') return fn.bind(implementation)
  }
  throw Object.assign(new Error(`${service} has no implementation of ${names[0]}; add a function named ${names.map((n) => `"${n}"`).join(' or ')}`), {
    code: status.UNIMPLEMENTED,
  })
}

/**
 * The requests of a streaming call. A Readable's own iterator destroys the stream when the loop
 * ends, which on a duplex call would cancel the responses still being written.
 */
function requests(call: ServerReadableStream<unknown, unknown> | ServerDuplexStream<unknown, unknown>): AsyncIterable<unknown> {
  return call.iterator({ destroyOnReturn: false })
}

/** Writes what a streaming method yields, waiting for the client when the buffer is full. */
async function pipe(output: unknown, call: ServerWritableStream<unknown, unknown> | ServerDuplexStream<unknown, unknown>, signal: AbortSignal): Promise<void> {
  const source = (await output) as AsyncIterable<unknown> | Iterable<unknown> | undefined
  if (source === undefined || source === null) return
  if (typeof (source as AsyncIterable<unknown>)[Symbol.asyncIterator] !== 'function' && typeof (source as Iterable<unknown>)[Symbol.iterator] !== 'function') {
    throw new TypeError(`${call.getPath()} streams its responses; return an async iterable (an async generator), not ${typeof source}`)
  }
  for await (const item of source) {
    if (signal.aborted) return
    if (!call.write(item)) await once(call, 'drain', { signal }).catch(() => undefined)
  }
}
