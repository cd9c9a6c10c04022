/**
 * Permission levels (design 001: read-only, basic, elevated, admin, system), each the set of
 * host capabilities a plugin of that level may be granted. A plugin gets the capabilities its
 * manifest asks for, and only those its level allows: asking for more is a manifest error.
 */

/** What a plugin can ask the host to do, one capability per kind of access. */
export const capabilities = ['state:read', 'state:write', 'topics:publish', 'topics:subscribe', 'routes:register', 'http:fetch', 'files:read'] as const
export type Capability = (typeof capabilities)[number]

export const permissionLevels = ['read-only', 'basic', 'elevated', 'admin', 'system'] as const
export type PermissionLevel = (typeof permissionLevels)[number]

const readOnly: readonly Capability[] = ['state:read', 'topics:subscribe', 'files:read']
const basic: readonly Capability[] = [...readOnly, 'topics:publish']
const elevated: readonly Capability[] = [...basic, 'state:write', 'http:fetch']
const admin: readonly Capability[] = [...elevated, 'routes:register']

/**
 * The capabilities each level allows. `system` allows everything and runs in the host process,
 * so the host must trust the plugin by id as well.
 *
 * @example
 * levelCapabilities.basic.has('state:write') // false
 */
export const levelCapabilities: Readonly<Record<PermissionLevel, ReadonlySet<Capability>>> = {
  'read-only': new Set(readOnly),
  basic: new Set(basic),
  elevated: new Set(elevated),
  admin: new Set(admin),
  system: new Set(capabilities),
}

/**
 * True when the level runs in a sandboxed child process (every level except `system`).
 *
 * @example
 * isSandboxed('admin') // true
 */
export function isSandboxed(level: PermissionLevel): boolean {
  return level !== 'system'
}
