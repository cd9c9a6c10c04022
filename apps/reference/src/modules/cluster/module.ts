import { defineModule } from '@plinth/core'
import { clusterClient, clusterDiscovery, clusterRegistry, clusterRoutes } from './components.js'

/**
 * Cluster (design document 001's service registry): each instance registers itself once ready
 * (in Redis when REDIS_URL is set), marks itself draining at SIGTERM and deregisters at stop;
 * GET /api/v1/cluster lists the instances it sees; calls between instances go through the
 * discovery client, balanced and retried on another instance.
 */
export default defineModule({
  id: 'cluster',
  version: '1.0.0',
  components: [clusterRegistry, clusterDiscovery, clusterClient, clusterRoutes],
})
