/** The error catalogue of `@plinth/grpc`. Codes are stable and never reused; docs/errors.md lists them. */
import { defineErrors } from '@plinth/core'

/**
 * Every code @plinth/grpc raises, with its title, what to do, and its HTTP status where it is not a
 * server fault.
 *
 * @example
 * if (grpcErrors.is(error, 'PLINTH_ERR_INVALID_GRPC_SERVICE')) console.error(error.hint)
 */
export const grpcErrors = defineErrors('@plinth/grpc', {
  PLINTH_ERR_INVALID_GRPC_SERVICE: {
    title: 'A gRPC service cannot be served',
    hint: 'Check the .proto path, the fully qualified service name (package.Service) and that the implementation has a function for every method named.',
  },
  PLINTH_ERR_GRPC_DRAIN_CUT: {
    title: 'gRPC calls were cancelled at shutdown',
    hint: 'Calls were still running when the drain time ran out and were cancelled. Raise grpcServer({ drainTimeout }) (and shutdown.timeout) above the longest call, or have long streams end when their signal aborts.',
  },
})
