import { connect, constants } from 'node:http2'

/** How a discovered instance's health is checked from the outside. */
export interface HealthProbeOptions {
  /** `http` asks GET <address>/health/ready for a 2xx; `grpc` calls grpc.health.v1.Health/Check. Default http. */
  kind?: 'http' | 'grpc'
  /** Which of the instance's addresses to probe. Default `http` for kind http, `grpc` for kind grpc. */
  address?: string
  /** The path of an HTTP probe. Default /health/ready. */
  path?: string
  /** The service name of a gRPC Check; '' asks about the whole server. Default ''. */
  grpcService?: string
  /** Between probes of one instance, in milliseconds. Default 10 000. */
  interval?: number
  /** Deadline of one probe, in milliseconds. Default 2 000. */
  timeout?: number
}

/**
 * Probes an HTTP readiness endpoint: resolves on a 2xx, rejects with the status or the network
 * error otherwise.
 *
 * @example
 * await probeHttp('http://10.0.0.5:8000/health/ready', AbortSignal.timeout(2_000))
 */
export async function probeHttp(url: string, signal: AbortSignal): Promise<void> {
  const response = await fetch(url, { signal, headers: { accept: 'application/json' } })
  // Read the body so the connection returns to the pool.
  await response.arrayBuffer()
  if (!response.ok) throw new Error(`GET ${url} answered ${response.status}`)
}

/**
 * Calls the standard gRPC health service (grpc.health.v1.Health/Check) over HTTP/2 and resolves
 * when the answer is SERVING. The request and the answer are one-field protobuf messages, encoded
 * here by hand, so no gRPC library is needed to probe.
 *
 * @example
 * await probeGrpc('grpc://10.0.0.5:50051', '', AbortSignal.timeout(2_000))
 */
export function probeGrpc(address: string, service: string, signal: AbortSignal): Promise<void> {
  const url = new URL(address)
  const authority = `http://${url.host}`
  return new Promise((resolve, reject) => {
    const session = connect(authority)
    const fail = (error: unknown) => {
      session.destroy()
      reject(error instanceof Error ? error : new Error(String(error)))
    }
    const onAbort = () => fail(new Error(`gRPC health Check of ${address} got no answer in time`))
    signal.addEventListener('abort', onAbort, { once: true })
    session.on('error', fail)
    const stream = session.request({
      [constants.HTTP2_HEADER_METHOD]: 'POST',
      [constants.HTTP2_HEADER_PATH]: '/grpc.health.v1.Health/Check',
      'content-type': 'application/grpc',
      te: 'trailers',
    })
    const chunks: Buffer[] = []
    let status: string | undefined
    let message: string | undefined
    stream.on('response', (headers) => {
      // A gRPC error without a body arrives as trailers-only: the status is in the headers.
      status = headers['grpc-status'] as string | undefined
      message = headers['grpc-message'] as string | undefined
    })
    stream.on('trailers', (trailers) => {
      status = trailers['grpc-status'] as string | undefined
      message = trailers['grpc-message'] as string | undefined
    })
    stream.on('data', (chunk: Buffer) => chunks.push(chunk))
    stream.on('error', fail)
    stream.on('end', () => {
      signal.removeEventListener('abort', onAbort)
      session.close()
      if (status !== '0') return reject(new Error(`gRPC health Check of ${address} failed with status ${status ?? 'none'}${message ? `: ${decodeURIComponent(message)}` : ''}`))
      const serving = servingStatus(Buffer.concat(chunks))
      if (serving === 1) resolve()
      else reject(new Error(`gRPC health Check of ${address} answered ${servingNames[serving] ?? serving}`))
    })
    stream.end(healthCheckRequest(service))
  })
}

const servingNames: Record<number, string> = { 0: 'UNKNOWN', 1: 'SERVING', 2: 'NOT_SERVING', 3: 'SERVICE_UNKNOWN' }

/** A length-prefixed HealthCheckRequest { string service = 1 }. */
function healthCheckRequest(service: string): Buffer {
  const name = Buffer.from(service, 'utf8')
  const body = name.length === 0 ? Buffer.alloc(0) : Buffer.concat([Buffer.from([0x0a]), varint(name.length), name])
  const prefix = Buffer.alloc(5)
  prefix.writeUInt32BE(body.length, 1)
  return Buffer.concat([prefix, body])
}

/** The status of a length-prefixed HealthCheckResponse { ServingStatus status = 1 }; 0 when absent. */
function servingStatus(frame: Buffer): number {
  const body = frame.subarray(5, 5 + (frame.length >= 5 ? frame.readUInt32BE(1) : 0))
  let i = 0
  while (i < body.length) {
    const tag = body[i++]!
    const [value, next] = readVarint(body, i)
    i = next
    if (tag === 0x08) return value
    if ((tag & 7) === 2) i += value // a length-delimited field we do not know: skip it
  }
  return 0
}

function varint(value: number): Buffer {
  const bytes: number[] = []
  while (value > 0x7f) {
    bytes.push((value & 0x7f) | 0x80)
    value >>>= 7
  }
  bytes.push(value)
  return Buffer.from(bytes)
}

function readVarint(buffer: Buffer, start: number): [number, number] {
  let value = 0
  let shift = 0
  let i = start
  while (i < buffer.length) {
    const byte = buffer[i++]!
    value |= (byte & 0x7f) << shift
    if ((byte & 0x80) === 0) break
    shift += 7
  }
  return [value, i]
}
