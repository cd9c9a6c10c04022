/**
 * The provisioning module end to end over REST: an event-sourced device, commands through the
 * command bus (422 naming the field, 409 on a stale version), reads through the query bus with
 * read-your-writes, and the provisioning saga against a real webhook receiver, including its
 * compensation when the receiver keeps failing. Run against each database by sqlite.test.ts and
 * postgres.test.ts.
 */
import { createServer, type Server } from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { unique, type Service } from './service.js'

/** A webhook receiver: answers 503 for devices whose id starts with `doomed-` while `failing`, 204 otherwise. */
async function webhookReceiver() {
  const received: Array<{ key: string | undefined; body: { device: string } }> = []
  let failing = true
  const server: Server = createServer((request, response) => {
    let text = ''
    request.on('data', (chunk: Buffer) => (text += chunk.toString()))
    request.on('end', () => {
      const body = JSON.parse(text) as { device: string }
      received.push({ key: request.headers['idempotency-key'] as string | undefined, body })
      response.writeHead(failing && body.device.startsWith('doomed-') ? 503 : 204).end()
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  return {
    url: `http://127.0.0.1:${port}/hooks/devices`,
    received,
    recover: () => void (failing = false),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
}

export function describeProvisioning(start: (env: Record<string, string>) => Promise<Service>): void {
  describe('provisioning', () => {
    let service: Service
    let webhook: Awaited<ReturnType<typeof webhookReceiver>>
    beforeAll(async () => {
      webhook = await webhookReceiver()
      service = await start({ PROVISIONING_WEBHOOK_URL: webhook.url })
    })
    afterAll(async () => {
      await service?.stop()
      await webhook?.close()
    })

    const provision = (id: string, kind = 'thermometer') => service.rest('POST', '/api/v1/provisioning/devices', { id, kind, site: 'plant-2' })
    const read = (id: string, position: number) => service.rest('GET', `/api/v1/provisioning/devices/${id}?after=${position}`)

    it('provisions a device through the saga (reserve, configure, notify) and reads it back at the position the command wrote', async () => {
      const id = unique('thermo')
      const res = await provision(id)
      expect(res.status, JSON.stringify(res.body)).toBe(201)
      expect(res.body.saga).toMatchObject({ id: `provision:${id}:0`, status: 'completed' })
      expect(res.body.saga.steps.map((s: { name: string; status: string }) => `${s.name} ${s.status}`)).toEqual(['reserve done', 'configure done', 'notify done'])
      expect(webhook.received.filter((r) => r.body.device === id)).toEqual([{ key: `provision:${id}:0:notify`, body: expect.objectContaining({ event: 'device.provisioned', device: id, site: 'plant-2' }) }])

      const device = await read(id, res.body.position)
      expect(device.status).toBe(200)
      expect(device.body).toMatchObject({ id, kind: 'thermometer', site: 'plant-2', status: 'active', settings: { interval: 60, unit: 'celsius' }, version: 3 })
      const listed = (await service.rest('GET', `/api/v1/provisioning/devices?after=${res.body.position}&limit=1000`)).body as Array<{ id: string }>
      expect(listed.map((d) => d.id)).toContain(id)

      const again = await provision(id)
      expect(again.status).toBe(409)
      expect(again.headers.get('content-type')).toBe('application/problem+json')
      expect(again.body.detail).toBe(`device "${id}" is already provisioned (active); it can be provisioned again once released`)
    })

    it('undoes configure, then reserve, when the notification fails on every attempt, and provisions the device again later', async () => {
      const id = unique('doomed-pump')
      const res = await provision(id, 'pump')
      expect(res.status, JSON.stringify(res.body)).toBe(502)
      expect(res.body.detail).toMatch(/step "notify" of saga "provision-device" failed after 3 attempt\(s\): the provisioning webhook answered 503/)
      expect(res.body.saga.status).toBe('compensated')
      expect(res.body.saga.steps.map((s: { name: string; status: string }) => `${s.name} ${s.status}`)).toEqual(['reserve compensated', 'configure compensated', 'notify failed'])
      expect(webhook.received.filter((r) => r.body.device === id).map((r) => r.key)).toEqual(Array(3).fill(`provision:${id}:0:notify`))

      const device = await read(id, res.body.position)
      expect(device.body).toMatchObject({ id, status: 'released', settings: null, version: 4 })
      expect((await service.rest('GET', `/api/v1/provisioning/sagas/provision:${id}:0`)).body).toMatchObject({ name: 'provision-device', status: 'compensated' })

      webhook.recover()
      const retried = await provision(id, 'pump')
      expect(retried.status, JSON.stringify(retried.body)).toBe(201)
      expect(retried.body.saga.id).toBe(`provision:${id}:4`)
      expect((await read(id, retried.body.position)).body).toMatchObject({ status: 'active', settings: { interval: 300, unit: 'celsius' }, version: 7 })
    })

    it('changes settings at the version they were read at: 422 naming the field, 409 for a stale version, nothing written by either', async () => {
      const id = unique('thermo')
      const provisioned = await provision(id)
      expect(provisioned.status).toBe(201)
      const path = `/api/v1/provisioning/devices/${id}/settings`

      const invalid = await service.rest('PUT', path, { settings: { interval: 0, unit: 'kelvin' }, expectedVersion: 3 })
      expect(invalid.status).toBe(422)
      expect(invalid.headers.get('content-type')).toBe('application/problem+json')
      expect(invalid.body.errors).toEqual([
        { pointer: '#/body/settings/interval', detail: expect.stringContaining('>=1') },
        { pointer: '#/body/settings/unit', detail: expect.stringContaining('"celsius"') },
      ])
      expect(invalid.body.detail).toMatch(/^the command is invalid \(nothing was done\): settings\.interval: /)

      const changed = await service.rest('PUT', path, { settings: { interval: 5, unit: 'fahrenheit' }, expectedVersion: 3 })
      expect(changed.status, JSON.stringify(changed.body)).toBe(200)
      expect(changed.body.version).toBe(4)

      const stale = await service.rest('PUT', path, { settings: { interval: 10, unit: 'celsius' }, expectedVersion: 3 })
      expect(stale.status).toBe(409)
      expect(stale.body).toMatchObject({ detail: `stream "provisioning-${id}" is at version 4, but the append expected version 3`, expected: 3, actual: 4 })

      expect((await read(id, changed.body.position)).body).toMatchObject({ settings: { interval: 5, unit: 'fahrenheit' }, version: 4 })
      expect((await service.rest('PUT', `/api/v1/provisioning/devices/${unique('ghost')}/settings`, { settings: { interval: 5, unit: 'celsius' }, expectedVersion: 1 })).status).toBe(404)
    })
  })
}
