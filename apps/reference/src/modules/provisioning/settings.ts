import { z } from 'zod'

/**
 * The provisioning module's section of the configuration (`provisioning.*`; the environment
 * names follow the keys: PROVISIONING_WEBHOOK_URL, PROVISIONING_NOTIFY_TIMEOUT).
 */
export const ProvisioningSettings = z.object({
  /** Where the last step of provisioning announces a new device (a POST of JSON); unset, nobody is told. */
  webhookUrl: z.string().url().optional(),
  /** How long one attempt at the webhook may take, in milliseconds. */
  notifyTimeout: z.coerce.number().int().min(50).max(60_000).default(2_000),
})
