import type { FlagDefinition } from '@plinth/flags'

/**
 * The service's flags; the configuration's `flags` and the file in FLAGS_FILE override them by
 * key. `ai.remote` turns the remote (OpenAI-compatible) replies on, per child (a rollout or a
 * rule can target them: the child's id is the targeting key), and falls back to the local
 * provider while the remote API is unreachable (the `ai-remote` check down, or its circuit open),
 * returning by itself when it answers again.
 */
export const serviceFlags: Record<string, FlagDefinition> = {
  'ai.remote': {
    type: 'boolean',
    defaultVariant: 'on',
    description: 'Replies from the remote AI provider (with AI_PROVIDER=openai); off: the local provider answers',
    fallback: { check: 'ai-remote', variant: 'off' },
  },
}
