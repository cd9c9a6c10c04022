import { Metadata, type ClientReadableStream, type ServiceError } from '@grpc/grpc-js'
import { grpcHealthClient, grpcTestClient } from '@plinth/grpc/testing'
import { fileURLToPath } from 'node:url'

export const greeterProto = fileURLToPath(new URL('./fixtures/greeter.proto', import.meta.url))

/** Clients for the sample service, the health service and reflection, closed together. */
export function clients(url: string) {
  const reflectionProto = (version: string) => fileURLToPath(new URL(`../../../node_modules/@grpc/reflection/build/proto/grpc/reflection/${version}/reflection.proto`, import.meta.url))
  const greeter = grpcTestClient(greeterProto, 'greet.v1.Greeter', url)
  const health = grpcHealthClient(url)
  const reflection = grpcTestClient(reflectionProto('v1'), 'grpc.reflection.v1.ServerReflection', url)
  const reflectionV1alpha = grpcTestClient(reflectionProto('v1alpha'), 'grpc.reflection.v1alpha.ServerReflection', url)
  const unary = (client: Record<string, (...args: any[]) => any>, method: string, request: unknown, headers: Record<string, string> = {}): Promise<any> => {
    const metadata = new Metadata()
    for (const [key, value] of Object.entries(headers)) metadata.set(key, value)
    return new Promise((resolve, reject) => client[method]!(request, metadata, { deadline: Date.now() + 5_000 }, (error: ServiceError | null, response: unknown) => (error ? reject(error) : resolve(response))))
  }
  return {
    greeter,
    health,
    reflection,
    reflectionV1alpha,
    call: (method: string, request: unknown, metadata?: Record<string, string>) => unary(greeter, method, request, metadata),
    check: (service: string) => unary(health, 'Check', { service }),
    watch: (service: string) => watch(health.Watch!({ service }) as ClientReadableStream<{ status: string }>),
    close: () => [greeter, health, reflection, reflectionV1alpha].forEach((client) => client.close()),
  }
}

/** Records a Watch stream's statuses and how it ended. */
function watch(stream: ClientReadableStream<{ status: string }>) {
  const statuses: string[] = []
  let waiters: Array<() => void> = []
  stream.on('data', (message: { status: string }) => {
    statuses.push(message.status)
    for (const wake of waiters.splice(0)) wake()
  })
  const ended = new Promise<{ code: number }>((resolve) => {
    stream.on('status', (status: { code: number }) => resolve(status))
    stream.on('error', () => undefined)
  })
  return {
    statuses,
    ended,
    stream,
    /** Resolves once `status` has been received. */
    async until(status: string): Promise<void> {
      const deadline = Date.now() + 5_000
      while (!statuses.includes(status)) {
        if (Date.now() > deadline) throw new Error(`no ${status} on the watch; got ${statuses.join(', ')}`)
        await new Promise<void>((resolve) => {
          waiters.push(resolve)
          setTimeout(resolve, 100)
        })
      }
      waiters = []
    },
  }
}
