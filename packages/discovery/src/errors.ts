import { defineErrors } from '@plinth/core'

/**
 * The error catalogue of @plinth/discovery. Every code is raised somewhere in src; a test keeps
 * the catalogue and the sources in step.
 *
 * @example
 * if (discoveryErrors.is(error, 'PLINTH_ERR_DISCOVERY_NO_INSTANCE')) return fallback()
 */
export const discoveryErrors = defineErrors('@plinth/discovery', {
  PLINTH_ERR_DISCOVERY_INVALID_INSTANCE: {
    title: 'Invalid service instance',
    hint: 'Give the service a DNS-label name (letters, digits, dashes), the instance a non-empty id of at most 128 characters, at least one address and a weight from 1 to 1000.',
    status: 400,
  },
  PLINTH_ERR_DISCOVERY_INVALID_ADDRESS: {
    title: 'Invalid instance address',
    hint: 'Advertise an absolute URL with a routable host and a port (http://10.0.0.5:8000); a wildcard host such as 0.0.0.0 cannot be reached by others: set `advertiseHost`.',
    status: 400,
  },
  PLINTH_ERR_DISCOVERY_INVALID_OPTION: {
    title: 'Invalid discovery option',
    hint: 'Check the option named in the message against the README of @plinth/discovery.',
  },
  PLINTH_ERR_DISCOVERY_REGISTRY_UNREACHABLE: {
    title: 'Service registry unreachable',
    hint: 'Check that the registry (Redis, Consul, the Kubernetes API server) is running and reachable at the configured address; the instance keeps retrying and registers once it is.',
    status: 503,
  },
  PLINTH_ERR_DISCOVERY_REGISTRY_REJECTED: {
    title: 'Service registry rejected the request',
    hint: 'Read the status and body in the message: a 403 usually means the token (Consul ACL, Kubernetes service account) lacks the permission named.',
    status: 502,
  },
  PLINTH_ERR_DISCOVERY_CLOSED: {
    title: 'Registry closed',
    hint: 'The registry was closed (the app is stopping); create a new one, or do the work before stop().',
    status: 503,
  },
  PLINTH_ERR_DISCOVERY_NO_INSTANCE: {
    title: 'No instance available',
    hint: 'No routable instance of the service is registered (all gone, draining, failing their health checks or ejected); check that the service runs and registers under this name.',
    status: 503,
  },
  PLINTH_ERR_DISCOVERY_REQUEST_FAILED: {
    title: 'Request to a service failed',
    hint: 'Every attempt failed; the message lists each instance tried and why. Non-idempotent calls are not retried unless marked `idempotent: true`.',
    status: 502,
  },
  PLINTH_ERR_DISCOVERY_TIMEOUT: {
    title: 'Request to a service timed out',
    hint: 'The instance did not answer within the timeout; raise `timeout` for slow calls, or look at the instance named.',
    status: 504,
  },
})
