/**
 * The shape every built-in bootstrap handler shares: it plans (reading only), and a dry run
 * prints the plan; `shouldRun` is "the plan has something to do"; `execute` re-plans, because
 * the disk may have changed since, and applies each step, recording it.
 */
import { rm } from 'node:fs/promises'
import { isAbsolute, relative, resolve } from 'node:path'
import type { BootstrapAction, BootstrapContext, BootstrapHandler, RequirementSet } from './bootstrap.js'

/** A planned action; `apply` is absent for skips. */
export interface Step extends Omit<BootstrapAction, 'handler'> {
  readonly apply?: (context: BootstrapContext) => Promise<string | void>
}

/** A step as reported: without its apply function. */
export function actionOf({ apply: _apply, ...action }: Step): Omit<BootstrapAction, 'handler'> {
  return action
}

/** Applies each step that has something to do, and records every step (skips too). */
export async function applySteps(context: BootstrapContext, steps: readonly Step[]): Promise<void> {
  for (const step of steps) {
    const detail = step.apply ? await step.apply(context) : undefined
    context.record({ ...actionOf(step), ...(typeof detail === 'string' ? { detail } : {}) })
  }
}

/**
 * Builds a handler from a plan function. The plan `shouldRun` made is kept for its context, so
 * that when nothing is to be done the runner can report the skips without planning again.
 */
export function plannedHandler(name: string, priority: number, plan: (context: BootstrapContext) => Promise<Step[]>): BootstrapHandler {
  const planned = new WeakMap<BootstrapContext, Step[]>()
  return {
    name,
    priority,
    plan: async (context) => (planned.get(context) ?? (await plan(context))).map(actionOf),
    shouldRun: async (context) => {
      const steps = await plan(context)
      planned.set(context, steps)
      return steps.some((step) => step.apply)
    },
    execute: async (context) => applySteps(context, await plan(context)),
  }
}

/** A path as people read it: relative to the working directory when inside it. */
export function display(context: Pick<BootstrapContext, 'cwd'>, path: string): string {
  const rel = relative(context.cwd, path)
  return rel === '' ? '.' : rel.startsWith('..') || isAbsolute(rel) ? path : rel
}

/** Where a declared destination lives: relative paths are inside the data directory. */
export function destination(context: Pick<BootstrapContext, 'dataDir'>, path: string): string {
  return resolve(context.dataDir, path)
}

/** Who declared a requirement, for messages: `module "x"` or `the app`. */
export function owner(set: RequirementSet): string {
  return set.owner === undefined ? 'the app' : `module "${set.owner}"`
}

/** Removes a temporary file, ignoring that it may already be gone. */
export async function discard(path: string): Promise<void> {
  await rm(path, { force: true })
}
