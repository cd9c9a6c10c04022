/**
 * @plinth/state: application state without globals. Typed keys (`state(name).of<T>()`) read
 * and written in the current scope (request, session, app) through the container's scopes;
 * stores with per-key TTL, atomic per-field updates and watchers (memory, Redis); a cookie
 * session for @plinth/http.
 */
export { States, appState, createStateStore, stateUrl, type AppStateOptions } from './component.js'
export { stateErrors } from './errors.js'
export { state, type StateKey, type StateKeyOptions, type StateScope } from './key.js'
export { MemoryStateStore } from './memory.js'
export { RedisStateStore, type RedisStateStoreOptions } from './redis.js'
export { cookieSession, verifySessionCookie, type CookieSessionOptions, type SessionPlugin } from './session.js'
export { StateScopes, type SessionContext, type StateWatcher, type StatesOptions } from './states.js'
export type { StateChange, StateListener, StateStore } from './store.js'
