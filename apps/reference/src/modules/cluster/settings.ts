import { z } from 'zod'

/**
 * The cluster module's section of the configuration (`cluster.*`): where instances register
 * (DISCOVERY_URL, else REDIS_URL; neither: in memory, this process only), under which key
 * prefix (DISCOVERY_PREFIX) and with which lease (DISCOVERY_TTL, ms).
 */
export const ClusterSettings = z.object({
  url: z.string().optional(),
  prefix: z.string().min(1).default('plinth:discovery'),
  ttl: z.coerce.number().int().min(100).max(3_600_000).default(15_000),
})
