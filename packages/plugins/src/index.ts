/**
 * @plinth/plugins: plugins for a Plinth app. Discovery from folders and installed packages,
 * plugin.json manifests, dependency resolution, permission levels, and a sandbox: each
 * untrusted plugin in a child process of its own, reaching the host only through checked
 * messages, under a heap cap and CPU, memory and flood watchdogs.
 */
export { PluginCatalogue, sha256Of, type CatalogueListing, type InstallOptions, type InstallResult } from './catalogue.js'
export { CapabilityGate, type CapabilityGateOptions, type PluginDelivery } from './capability-gate.js'
export { pluginHealth, pluginHost } from './component.js'
export { discoverPlugins, readCandidate, refuseLinks, type PluginCandidate, type PluginDiscoveryOptions } from './discovery.js'
export { pluginErrors, type PluginErrorCode } from './errors.js'
export type { PluginEvent, PluginEventType } from './events.js'
export { lineReader, plainData, type LineReaderOptions } from './framing.js'
export { availableIsolation, launchIsolation, launchPlan, probeIsolation, readTreeResidentBytes, runtimeFile, treeResidentBytes, type Isolation, type LaunchIsolation, type LaunchPlan } from './isolation.js'
export { validateManifest, type PluginLimits, type PluginManifest } from './manifest.js'
export { capabilities, isSandboxed, levelCapabilities, permissionLevels, type Capability, type PermissionLevel } from './permissions.js'
// Loading plugins-command registers `plinth plugins` with core's commands; it does no I/O.
export { pluginsCommand } from './plugins-command.js'
export { defaultLimits, plinthVersion, type HostLimits, type PluginHostOptions, type PluginState, type PluginStatus } from './host-options.js'
export { PluginHost } from './plugin-host.js'
export { resolvePlugins, type PluginExclusion, type PluginResolution, type ResolveOptions, type ResolvedPlugin } from './resolution.js'
export { memoryServices, topicMatches, type HostServices, type PluginRequest, type PluginRoute, type PluginRoutes, type SharedState, type PluginTopics } from './services.js'
