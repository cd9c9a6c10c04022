import { expect, test } from 'tstyche'
import { component, createApp, token } from '@plinth/core'
import { job, jobHandler, jobs, type JobQueue, type JobStatus } from '@plinth/jobs'

const outline = job('course.generate').of<{ topic: string }, { chapters: string[] }>()
declare const queue: JobQueue

test('enqueue takes the input type of the definition', () => {
  expect(queue.enqueue(outline, { topic: 'volcanoes' })).type.toBe<Promise<JobStatus<{ topic: string }, { chapters: string[] }>>>()
  expect(queue.enqueue).type.not.toBeCallableWith(outline, { topic: 42 })
  expect(queue.enqueue).type.not.toBeCallableWith(outline, {})
})

test('get with the definition types the result', () => {
  expect(queue.get('id', outline)).type.toBe<Promise<JobStatus<{ topic: string }, { chapters: string[] }>>>()
})

test('a handler returns the result type and gets typed deps', () => {
  const Clock = token('clock').of<{ now(): number }>()
  expect(jobHandler).type.toBeCallableWith(outline, { deps: { clock: Clock }, run: ({ topic }: { topic: string }) => ({ chapters: [topic] }) })
  expect(jobHandler).type.not.toBeCallableWith(outline, { run: () => ({ chapters: 3 }) })
})

test('the component and handlers go among an app\'s components (their dependencies are checked at start, not here)', () => {
  const Mailer = token('mailer').of<{ send(): void }>()
  const handler = jobHandler(outline, { deps: { mailer: Mailer }, run: () => ({ chapters: [] }) })
  const other = component('other', { create: () => 1 })
  expect(createApp).type.toBeCallableWith({ name: 'ok', components: [jobs(), handler, other] })
})
