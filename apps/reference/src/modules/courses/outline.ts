/**
 * Generating a course outline (design document 002, the learning platform): a job in several
 * steps (an overview, one step per chapter, a closing summary), each asking the conversation
 * module's AI provider, each checkpointed so that a retried or taken-over run goes on from the
 * last finished step instead of asking again.
 */
import { job, jobHandler } from '@plinth/jobs'
import { z } from 'zod'
import { AiProvider } from '../conversation/provider.js'

export const CourseRequest = z.object({
  topic: z.string().trim().min(3).max(200),
  chapters: z.number().int().min(1).max(12).default(4),
  level: z.enum(['beginner', 'intermediate', 'advanced']).default('beginner'),
})
export type CourseRequest = z.output<typeof CourseRequest>

export interface CourseOutline {
  readonly topic: string
  readonly level: string
  readonly overview: string
  readonly chapters: readonly { readonly number: number; readonly title: string; readonly summary: string }[]
  readonly closing: string
}

/** The work done so far: what a resumed run starts from. */
interface Draft {
  overview?: string
  chapters: { number: number; title: string; summary: string }[]
  closing?: string
}

/** Generates a course outline; three attempts, each resuming from the last finished step. */
export const generateOutline = job('course.generate').of<CourseRequest, CourseOutline>({
  input: CourseRequest,
  attempts: 3,
  backoff: { type: 'exponential', delay: 500 },
  timeout: 120_000,
  concurrency: 2,
})

const persona = 'You write clear, encouraging course outlines for a learning platform. Answer in one or two sentences.'

export const generateOutlineHandler = jobHandler(generateOutline, {
  deps: { provider: AiProvider },
  run: async ({ topic, chapters, level }, ctx, { provider }) => {
    const draft: Draft = (ctx.lastCheckpoint as Draft | undefined) ?? { chapters: [] }
    const steps = chapters + 2
    const ask = async (message: string) => (await provider.reply({ childId: `course:${ctx.id}`, message, history: [], persona })).text
    const done = async (step: number, message: string) => {
      await ctx.checkpoint(draft)
      await ctx.progress(Math.round((step / steps) * 100), message, { step, steps })
    }
    if (draft.overview === undefined) {
      draft.overview = await ask(`Give an overview of a ${level} course on ${topic}.`)
      await done(1, 'overview written')
    }
    for (let n = draft.chapters.length + 1; n <= chapters; n++) {
      ctx.signal.throwIfAborted()
      const summary = await ask(`Summarise chapter ${n} of ${chapters} of a ${level} course on ${topic}.`)
      draft.chapters.push({ number: n, title: `${topic}: part ${n}`, summary })
      await done(n + 1, `chapter ${n} of ${chapters} written`)
    }
    if (draft.closing === undefined) {
      draft.closing = await ask(`Write the closing words of a ${level} course on ${topic}.`)
      await done(steps, 'outline complete')
    }
    return { topic, level, overview: draft.overview, chapters: draft.chapters, closing: draft.closing }
  },
})
