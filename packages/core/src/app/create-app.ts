import type { ConfigDefinition } from '../config/config.js'
import type { AnyProvider } from '../container/provider.js'
import { captureSite } from '../container/site.js'
import type { Module } from '../modules/module.js'
import { App } from './app.js'
import type { AppOptions, CheckProviders } from './options.js'

/**
 * Assembles an application. Where every component and module is listed here, a component that
 * depends on a token nobody provides is a compile error naming the token.
 *
 * @example
 * export const app = createApp({
 *   name: 'orders',
 *   config: AppConfig,
 *   modules: [orders, payments],
 *   components: [httpServer],
 * })
 */
export function createApp<
  const C extends readonly AnyProvider[] = [],
  const M extends readonly Module[] = [],
  K extends ConfigDefinition<any> | undefined = undefined,
>(options: AppOptions<C, M> & { config?: K } & CheckProviders<C, M, K>): App {
  return new App(options, captureSite(createApp))
}
