/// <reference types="@fastify/swagger" preserve="true" />
// The reference above carries @fastify/swagger's additions to Fastify's route schema (`tags`,
// `summary`, `hide`) to every user of @plinth/http, whose /docs are built from them.
/**
 * @plinth/http: Fastify as a Plinth component. Health probes and information routes, RFC 9457
 * problem details for every error, the request scope around each handler, request ids, access
 * logs and HTTP metrics, CORS, security headers, rate limits, OpenAPI docs, and draining on
 * shutdown.
 */
export { AccessLog, AccessShape, type AccessLevel } from './access-log.js'
export { httpErrors } from './errors.js'
export { apiSecurityHeaders, corsMethods, type DocsOptions } from './plugins.js'
export type { HealthDetails } from './probes.js'
export { HttpProblem, PROBLEM_JSON, problemTypes, sendProblem, toProblem, type HttpProblemInit, type InvalidField, type ProblemDetails, type ProblemOptions } from './problems.js'
export { Routes, type RouteContribution, type RouteGroup, type RouteRegistrar } from './routes.js'
export { HttpServer, httpServer, type HttpServerDeps, type HttpServerOptions } from './server.js'
// Registers the server's preflight checks (plinth validate) on import.
import './preflight.js'
