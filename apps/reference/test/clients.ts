/** Real clients of the service's protocols: `ws`, `@grpc/grpc-js`, and GraphQL over HTTP and graphql-ws. */
import { fileURLToPath } from 'node:url'
import type { ServiceError } from '@grpc/grpc-js'
import { grpcHealthClient, grpcTestClient } from '@plinth/grpc/testing'
import { createClient } from 'graphql-ws'
import WebSocket from 'ws'

// The WebSocket client is @plinth/ws's own test client, shipped by the package that owns the protocol.
export { TestClient as WsClient, type Received as WsMessage } from '@plinth/ws/testing'

export const telemetryProto = fileURLToPath(new URL('../proto/plinth/telemetry/v1/telemetry.proto', import.meta.url))

/** gRPC clients of the telemetry service and the standard health service. */
export function grpcClients(url: string) {
  const telemetry = grpcTestClient(telemetryProto, 'plinth.telemetry.v1.Telemetry', url)
  const health = grpcHealthClient(url)
  return {
    /** Streams `readings` in one IngestReadings call. */
    ingest: (readings: ReadonlyArray<Record<string, unknown>>) =>
      new Promise<{ stored: number; duplicates: number; findings: number }>((resolve, reject) => {
        const call = telemetry.IngestReadings!({ deadline: Date.now() + 5_000 }, (error: ServiceError | null, summary: any) => (error ? reject(error) : resolve(summary)))
        for (const reading of readings) call.write(reading)
        call.end()
      }),
    check: (service: string) =>
      new Promise<string>((resolve, reject) => health.Check!({ service }, { deadline: Date.now() + 5_000 }, (error: ServiceError | null, response: any) => (error ? reject(error) : resolve(response.status)))),
    close: () => [telemetry, health].forEach((client) => client.close()),
  }
}

/** A GraphQL query or mutation over HTTP. */
export async function graphql(url: string, query: string, variables?: Record<string, unknown>): Promise<{ status: number; data?: any; errors?: Array<{ message: string; extensions: { code: string } }> }> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query, variables }) })
  return { status: res.status, ...((await res.json()) as object) }
}

/** A graphql-ws subscription: its values as they come. */
export function subscribe(url: string, query: string, variables: Record<string, unknown>) {
  const values: any[] = []
  const errors: unknown[] = []
  const client = createClient({ url: url.replace(/^http/, 'ws'), webSocketImpl: WebSocket, retryAttempts: 0 })
  client.subscribe({ query, variables }, { next: (value) => void values.push(value), error: (error) => void errors.push(error), complete: () => undefined })
  return {
    values,
    errors,
    /**
     * Resolves once a value (or an error) has arrived. graphql-ws does not say when a
     * subscription has started, so `nudge` (which makes a value happen) is repeated until one
     * arrives: a value published before the subscription started is never delivered.
     */
    async first(nudge: () => Promise<unknown>, timeout = 5_000): Promise<void> {
      const deadline = Date.now() + timeout
      while (values.length === 0 && errors.length === 0) {
        if (Date.now() > deadline) throw new Error(`no subscription value within ${timeout} ms`)
        await nudge()
        for (let i = 0; i < 10 && values.length === 0 && errors.length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 25))
      }
    },
    dispose: () => client.dispose(),
  }
}
