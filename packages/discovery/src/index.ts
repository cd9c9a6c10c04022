/** @plinth/discovery: memory, Redis, Consul and Kubernetes, with client-side load balancing. */
export {}
