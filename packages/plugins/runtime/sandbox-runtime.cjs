// The first code a sandboxed plugin process runs (plain JavaScript: the child is a bare `node`
// with the permission model on, no TypeScript loader). It takes the host pipe (fd 3) before
// anything else, removes what a plugin must not use, then imports the plugin and answers the
// host. Nothing here is trusted by the host: every request is checked on the host's side.
// CommonJS, because the child starts beside the service's own start, on the same cores: Node
// loads it and the builtins it patches sooner than an ES module graph of them.
'use strict'
const dgram = require('node:dgram')
const dns = require('node:dns')
const http2 = require('node:http2')
const { syncBuiltinESMExports } = require('node:module')
const net = require('node:net')
const tls = require('node:tls')
const { pathToFileURL } = require('node:url')

const pipe = new net.Socket({ fd: 3, readable: true, writable: true })
const stringify = JSON.stringify
const parse = JSON.parse
const send = (message) => pipe.write(stringify(message) + '\n')

// Defence in depth on top of the permission flags: they keep files, child processes and
// workers out of reach, but not sockets, signals or exiting. Where the host runs the plugin in
// network and PID namespaces those are out of reach anyway; this also covers plain processes.
const refuse = (what) =>
  function refused() {
    const error = new Error(`${what} is not available to a sandboxed plugin; use the host API it is given`)
    error.code = 'ERR_PLUGIN_SANDBOX'
    throw error
  }
const exitProcess = process.reallyExit.bind(process)
process.exit = refuse('process.exit')
process.reallyExit = refuse('process.reallyExit')
process.abort = refuse('process.abort')
process.kill = refuse('process.kill')
process._kill = refuse('process.kill')
process.dlopen = refuse('process.dlopen')
net.Socket.prototype.connect = refuse('a network socket')
net.Server.prototype.listen = refuse('listening on a socket')
net.connect = net.createConnection = refuse('a network socket')
tls.connect = refuse('a TLS socket')
http2.connect = refuse('an HTTP/2 session')
dgram.createSocket = refuse('a UDP socket')
dgram.Socket.prototype.bind = dgram.Socket.prototype.send = refuse('a UDP socket')
for (const name of Object.keys(dns)) if (typeof dns[name] === 'function' && name !== 'Resolver') dns[name] = refuse('DNS')
for (const name of Object.keys(dns.promises)) if (typeof dns.promises[name] === 'function' && name !== 'Resolver') dns.promises[name] = refuse('DNS')
dns.Resolver = dns.promises.Resolver = refuse('DNS')
globalThis.fetch = refuse('fetch (ask the host: host.http.fetch)')
if ('WebSocket' in globalThis) globalThis.WebSocket = refuse('WebSocket')
if ('EventSource' in globalThis) globalThis.EventSource = refuse('EventSource')
syncBuiltinESMExports()

const wireError = (error) => ({
  message: String(error instanceof Error ? error.message : error).slice(0, 2000),
  ...(error && typeof error.code === 'string' ? { code: error.code } : {}),
})
process.on('uncaughtException', (error) => send({ t: 'log', level: 'error', message: `uncaught: ${wireError(error).message}` }))
process.on('unhandledRejection', (error) => send({ t: 'log', level: 'error', message: `unhandled rejection: ${wireError(error).message}` }))

let plugin
let handlers = {}
let nextRequest = 1
const pending = new Map()
const subscriptions = new Map()
const routes = new Map()

function ask(op, args) {
  const id = nextRequest++
  return new Promise((resolve, reject) => {
    pending.set(id, { resolve, reject })
    send({ t: 'host', id, op, args })
  })
}

// The API object has only what the plugin was granted; the host checks every request anyway.
function hostApi(info) {
  const has = new Set(info.capabilities)
  const api = {
    plugin: Object.freeze({ ...info, capabilities: [...info.capabilities] }),
    log: Object.freeze({
      info: (message) => send({ t: 'log', level: 'info', message: String(message).slice(0, 2000) }),
      warn: (message) => send({ t: 'log', level: 'warn', message: String(message).slice(0, 2000) }),
      error: (message) => send({ t: 'log', level: 'error', message: String(message).slice(0, 2000) }),
    }),
  }
  if (has.has('state:read') || has.has('state:write')) {
    api.state = {}
    if (has.has('state:read')) api.state.get = (key) => ask('state.get', [key])
    if (has.has('state:write')) api.state.set = (key, value) => ask('state.set', [key, value])
  }
  if (has.has('topics:publish') || has.has('topics:subscribe')) {
    api.topics = {}
    if (has.has('topics:publish')) api.topics.publish = (topic, data) => ask('topics.publish', [topic, data])
    if (has.has('topics:subscribe')) {
      api.topics.subscribe = async (topic, listener) => {
        const id = await ask('topics.subscribe', [topic])
        subscriptions.set(id, listener)
        return id
      }
    }
  }
  if (has.has('routes:register')) {
    api.routes = {
      register: async (route, handle) => {
        const id = await ask('routes.register', [{ method: route.method, path: route.path }])
        routes.set(id, handle)
        return id
      },
    }
  }
  if (has.has('http:fetch')) api.http = { fetch: (url, init = {}) => ask('http.fetch', [String(url), { method: init.method, headers: init.headers, body: init.body }]) }
  if (has.has('files:read')) api.files = { read: (path) => ask('files.read', [String(path)]) }
  return Object.freeze(api)
}

let host
async function onMessage(message) {
  switch (message.t) {
    case 'init': {
      host = hostApi(message.plugin)
      try {
        const mod = await import(pathToFileURL(message.entry).href)
        plugin = mod.default && typeof mod.default === 'object' ? mod.default : mod
        handlers = plugin.handlers && typeof plugin.handlers === 'object' ? plugin.handlers : {}
        send({ t: 'loaded', handlers: Object.keys(handlers).filter((k) => typeof handlers[k] === 'function') })
      } catch (error) {
        send({ t: 'load-failed', error: wireError(error) })
      }
      return
    }
    case 'hook': {
      try {
        const fn = plugin?.[message.hook]
        const value = typeof fn === 'function' ? await fn.call(plugin, host) : undefined
        send({ t: 'result', id: message.id, ok: true, value: value ?? null })
      } catch (error) {
        send({ t: 'result', id: message.id, ok: false, error: wireError(error) })
      }
      return
    }
    case 'call': {
      try {
        let fn
        let input = message.input
        if (message.handler === '#topic') fn = subscriptions.get(input.subscription)
        else if (message.handler === '#route') fn = routes.get(input.route)
        else fn = Object.hasOwn(handlers, message.handler) ? handlers[message.handler] : undefined
        if (message.handler === '#topic') input = { topic: input.topic, data: input.data }
        if (message.handler === '#route') input = input.request
        if (typeof fn !== 'function') throw Object.assign(new Error(`no handler "${message.handler}"`), { code: 'PLINTH_ERR_PLUGIN_NOT_FOUND' })
        const value = await fn.call(handlers, input, host)
        send({ t: 'result', id: message.id, ok: true, value: value ?? null })
      } catch (error) {
        send({ t: 'result', id: message.id, ok: false, error: wireError(error) })
      }
      return
    }
    case 'reply': {
      const waiter = pending.get(message.id)
      if (!waiter) return
      pending.delete(message.id)
      if (message.ok) waiter.resolve(message.value)
      else waiter.reject(Object.assign(new Error(message.error.message), { code: message.error.code }))
      return
    }
    case 'ping':
      send({ t: 'pong', id: message.id })
      return
  }
}

let buffered = ''
pipe.setEncoding('utf8')
pipe.on('data', (chunk) => {
  buffered += chunk
  for (let nl = buffered.indexOf('\n'); nl !== -1; nl = buffered.indexOf('\n')) {
    const line = buffered.slice(0, nl)
    buffered = buffered.slice(nl + 1)
    if (line) void onMessage(parse(line))
  }
})
// The host closing the pipe is the end of this process, whatever the plugin keeps open.
pipe.on('close', () => exitProcess(0))
pipe.on('error', () => exitProcess(0))
