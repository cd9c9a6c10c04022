/**
 * The courses module end to end, whichever queue runs its jobs: a course outline generated in
 * the background, followed over WebSocket, polled with ETags, read over GraphQL.
 */
import { describe, expect, it } from 'vitest'
import { graphql, subscribe, WsClient } from './clients.js'
import { eventually, type Service } from './service.js'

export function describeCourses(start: () => Promise<Service>, startWithoutWorkers?: () => Promise<Service>): void {
  describe('courses', () => {
    it('generates an outline in the background: 202 with the job id and polling URL, progress over WebSocket, 304 until it changes', async () => {
      await using service = await start()
      const ws = await WsClient.connect(service.urls.websocket!)
      try {
        expect((await ws.request('subscribe', { topic: 'jobs:course.generate' })).data).toMatchObject({ subscribed: true })
        const accepted = await service.rest('POST', '/api/v1/courses', { topic: 'volcanoes', chapters: 3 })
        expect(accepted.status).toBe(202)
        const { jobId, poll, topic } = accepted.body as { jobId: string; poll: string; topic: string }
        expect(poll).toBe(`/api/v1/jobs/${encodeURIComponent(jobId)}`)
        expect(topic).toBe(`job:${jobId}`)
        expect(accepted.headers.get('location')).toBe(poll)

        const completed = await ws.next((m) => m.type === 'event' && m.data?.id === jobId && m.data?.type === 'completed', 15_000)
        const progress = ws.received.filter((m) => m.data?.id === jobId && m.data?.type === 'progress').map((m) => m.data.progress.percent as number)
        expect(progress).toEqual([20, 40, 60, 80, 100])
        expect(completed.data.result.chapters).toHaveLength(3)

        const first = await fetch(`${service.urls.http}${poll}`)
        const status = (await first.json()) as { state: string; result: { topic: string; chapters: unknown[] }; progress: { percent: number } }
        expect(status).toMatchObject({ state: 'completed', result: { topic: 'volcanoes' }, progress: { percent: 100 } })
        const etag = first.headers.get('etag')!
        expect(first.headers.get('retry-after')).toBeNull()
        const again = await fetch(`${service.urls.http}${poll}`, { headers: { 'if-none-match': etag } })
        expect(again.status).toBe(304)

        const query = await graphql(`${service.urls.graphql}`, 'query($id: ID!) { job(id: $id) { id state attempts progress { percent } result } }', { id: jobId })
        expect(query.data?.job).toMatchObject({ id: jobId, state: 'completed', attempts: 1, progress: { percent: 100 } })
        expect(JSON.parse(query.data.job.result as string).chapters).toHaveLength(3)
      } finally {
        ws.close()
      }
    })

    it('answers 422 problem details naming the field of invalid input, 404 for an unknown job, 409 for cancelling a finished one', async () => {
      await using service = await start()
      const invalid = await service.rest('POST', '/api/v1/courses', { topic: 'x', chapters: 40 })
      expect(invalid.status).toBe(422)
      expect(invalid.headers.get('content-type')).toContain('application/problem+json')
      expect(invalid.body.errors.map((e: { pointer: string }) => e.pointer).sort()).toEqual(['#/body/chapters', '#/body/topic'])
      const missing = await service.rest('GET', '/api/v1/jobs/no-such-job')
      expect(missing.status).toBe(404)
      const { jobId } = (await service.rest('POST', '/api/v1/courses', { topic: 'tides', chapters: 1 })).body as { jobId: string }
      await eventually(async () => ((await service.rest('GET', `/api/v1/jobs/${encodeURIComponent(jobId)}`)).body.state === 'completed' ? true : undefined), 15_000)
      const cancel = await service.rest('DELETE', `/api/v1/jobs/${encodeURIComponent(jobId)}`)
      expect(cancel.status).toBe(409)
    })

    it.runIf(startWithoutWorkers !== undefined)('sends one job\'s events to its WebSocket topic job:<id> and to a GraphQL subscription', async () => {
      // An instance without workers: the job stays queued until the test moves it (cancel, retry).
      await using service = await startWithoutWorkers!()
      const { jobId, poll, topic } = (await service.rest('POST', '/api/v1/courses', { topic: 'comets' })).body as { jobId: string; poll: string; topic: string }
      expect((await service.rest('GET', poll)).headers.get('retry-after')).toBe('2')
      const ws = await WsClient.connect(service.urls.websocket!)
      const live = subscribe(service.urls.graphql!, 'subscription($id: ID!) { jobProgress(id: $id) { type id } }', { id: jobId })
      try {
        expect((await ws.request('subscribe', { topic })).data).toMatchObject({ subscribed: true })
        // graphql-ws does not say when its subscription has started: cancel, and retry and cancel again, until an event arrives.
        let moves = 0
        await live.first(async () => {
          if (moves++ > 0) await service.rest('POST', `/api/v1/jobs/${encodeURIComponent(jobId)}/retry`)
          await service.rest('DELETE', `/api/v1/jobs/${encodeURIComponent(jobId)}`)
        })
        expect(live.values[0].data.jobProgress).toEqual({ type: 'cancelled', id: jobId })
        const event = await ws.next((m) => m.type === 'event' && m.topic === topic && m.data?.type === 'cancelled')
        expect(event.data).toMatchObject({ id: jobId, name: 'course.generate' })
        expect((await service.rest('GET', poll)).body.state).toBe('cancelled')
        const unknown = subscribe(service.urls.graphql!, 'subscription { jobProgress(id: "nope") { type } }', {})
        await unknown.first(() => Promise.resolve())
        expect(JSON.stringify(unknown.errors.length > 0 ? unknown.errors : unknown.values)).toContain('nope')
        await unknown.dispose()
      } finally {
        ws.close()
        await live.dispose()
      }
    })
  })
}
