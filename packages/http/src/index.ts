/// <reference types="@fastify/swagger" preserve="true" />
// The reference above carries @fastify/swagger's additions to Fastify's route schema (`tags`,
// `summary`, `hide`) to every user of @plinth/http, whose /docs are built from them.
/**
 * @plinth/http: Fastify as a Plinth component. Health probes and information routes, RFC 9457
 * problem details for every error, the request scope around each handler, request ids, access
 * logs and HTTP metrics, CORS, security headers, rate limits, OpenAPI docs, and draining on
 * shutdown.
 */
export { apiSecurityHeaders, registerDocs, registerSecurity, securityHeaders, type DocsOptions, type SecurityOptions } from './plugins.js'
export { accessLogger, lazyChildLogger } from './request-logger.js'
export { installProbes, type HealthDetails, type ProbeOptions } from './probes.js'
export {
  HttpProblem,
  installProblemHandlers,
  invalidFields,
  PROBLEM_JSON,
  problemTypes,
  sendProblem,
  toProblem,
  type HttpProblemInit,
  type InvalidField,
  type ProblemDetails,
  type ProblemOptions,
} from './problems.js'
export { installRequestContext, requestIdFrom, type RequestContextOptions } from './request-context.js'
export { registerRoutes, Routes, type RouteContribution, type RouteGroup, type RouteRegistrar } from './routes.js'
export { HttpServer, httpServer, type HttpServerDeps, type HttpServerOptions } from './server.js'
