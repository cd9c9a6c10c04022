import { credentials, loadPackageDefinition, type Client, type ClientReadableStream, type ServiceError } from '@grpc/grpc-js'
import { loadSync } from '@grpc/proto-loader'
import { protoPath as healthProto } from 'grpc-health-check'
import { fileURLToPath } from 'node:url'

export const greeterProto = fileURLToPath(new URL('./fixtures/greeter.proto', import.meta.url))
const options = { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true }

type Ctor = new (address: string, creds: ReturnType<typeof credentials.createInsecure>) => Client & Record<string, (...args: any[]) => any>

function constructor(proto: string, path: string[], includeDirs: string[] = []): Ctor {
  let node: any = loadPackageDefinition(loadSync(proto, { ...options, includeDirs }))
  for (const part of path) node = node[part]
  return node as Ctor
}

/** Clients for the sample service, the health service and reflection, closed together. */
export function clients(url: string) {
  const address = url.replace(/^grpc:\/\//, '')
  const creds = credentials.createInsecure()
  const Greeter = constructor(greeterProto, ['greet', 'v1', 'Greeter'])
  const Health = constructor(healthProto, ['grpc', 'health', 'v1', 'Health'])
  const reflectionProto = fileURLToPath(new URL('../../../node_modules/@grpc/reflection/build/proto/grpc/reflection/v1/reflection.proto', import.meta.url))
  const Reflection = constructor(reflectionProto, ['grpc', 'reflection', 'v1', 'ServerReflection'])
  const greeter = new Greeter(address, creds)
  const health = new Health(address, creds)
  const reflection = new Reflection(address, creds)
  const unary = (client: Record<string, (...args: any[]) => any>, method: string, request: unknown): Promise<any> =>
    new Promise((resolve, reject) => client[method]!(request, { deadline: Date.now() + 5_000 }, (error: ServiceError | null, response: unknown) => (error ? reject(error) : resolve(response))))
  return {
    greeter,
    health,
    reflection,
    call: (method: string, request: unknown) => unary(greeter, method, request),
    check: (service: string) => unary(health, 'Check', { service }),
    watch: (service: string) => watch(health.Watch!({ service }) as ClientReadableStream<{ status: string }>),
    close: () => [greeter, health, reflection].forEach((client) => client.close()),
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
