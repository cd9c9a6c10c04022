/**
 * @plinth/discovery: a service registry (memory, Redis, Consul, Kubernetes EndpointSlices),
 * self-registration of a running app, discovery with watch, client-side load balancing, remote
 * health checks with outlier ejection, and an HTTP client that resolves `http://<service>/...`.
 */
export { ConsistentHash, LeastConnections, RandomPick, RoundRobin, WeightedRoundRobin, createBalancer, hashString, strategies, type Balancer, type ConsistentHashOptions, type PickContext, type RandomOptions, type Strategy } from './balancers.js'
export type { InstancesListener, Registry, Watch } from './contract.js'
export { discoveryErrors } from './errors.js'
export { checkInstance, isRoutable, normalizeInstance, type InstanceHealth, type ServiceInstance } from './instance.js'
export { MemoryRegistry, type MemoryRegistryOptions } from './memory.js'
export { Discovery, DiscoveryRegistry, ServiceClient, discovery, serviceClient, type DiscoveryOptions } from './component.js'
export { ServiceDiscovery, type InstanceLease, type ServiceDiscoveryOptions, type ServiceSettings, type ServiceView } from './discovery.js'
export { probeGrpc, probeHttp, type HealthProbeOptions } from './health-probe.js'
export { ServiceHttpClient, type HttpClientOptions, type ServiceRequestInit } from './http-client.js'
export { SelfRegistration, type RegistrationState, type SelfDescription } from './self-registration.js'
export { RedisRegistry, type RedisRegistryOptions } from './redis.js'
export { ConsulRegistry, type ConsulRegistryOptions } from './consul.js'
export { KubernetesRegistry, type KubernetesRegistryOptions } from './kubernetes.js'
export { ServiceGrpcClients, type ClosableClient, type GrpcCallOptions, type GrpcClientsOptions } from './grpc-clients.js'
