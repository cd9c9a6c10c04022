/**
 * Role-based access control: roles name sets of permissions (`devices:write`), declared in code
 * or loaded from configuration. `*` grants everything; `devices:*` every permission of devices.
 */
import { authErrors } from './errors.js'

/** Roles and the permissions each grants. */
export type RoleDeclaration = Readonly<Record<string, readonly string[]>>

const permissionPattern = /^(\*|[a-z][a-z0-9_.-]*:(\*|[a-z][a-z0-9_.-]*))$/
const rolePattern = /^[a-z][a-z0-9_.-]{0,63}$/

/**
 * The application's roles.
 *
 * @example
 * const roles = defineRoles({ admin: ['*'], operator: ['devices:write', 'readings:write'], viewer: [] })
 * roles.grants(['operator'], 'devices:write') // true
 * roles.grants(['viewer'], 'devices:write') // false
 */
export class Roles {
  readonly declaration: RoleDeclaration

  constructor(declaration: RoleDeclaration) {
    const problems: string[] = []
    for (const [role, permissions] of Object.entries(declaration)) {
      if (!rolePattern.test(role)) problems.push(`role "${role}" must be 1-64 lower-case letters, digits, _ . or -, starting with a letter`)
      if (!Array.isArray(permissions)) {
        problems.push(`role "${role}" must map to an array of permissions`)
        continue
      }
      for (const permission of permissions) {
        if (typeof permission !== 'string' || !permissionPattern.test(permission)) problems.push(`role "${role}": permission ${JSON.stringify(permission)} must look like "resource:action", "resource:*" or "*"`)
      }
    }
    if (problems.length > 0) throw authErrors.create('PLINTH_ERR_AUTH_INVALID_OPTIONS', `invalid roles:\n${problems.map((p) => `  - ${p}`).join('\n')}`)
    this.declaration = declaration
  }

  /** The names of the declared roles. */
  get names(): string[] {
    return Object.keys(this.declaration)
  }

  /** Throws PLINTH_ERR_AUTH_UNKNOWN_ROLE naming every role that is not declared. */
  assertKnown(roles: readonly string[]): void {
    const unknown = roles.filter((role) => !Object.hasOwn(this.declaration, role))
    if (unknown.length > 0) {
      throw authErrors.create('PLINTH_ERR_AUTH_UNKNOWN_ROLE', `unknown role${unknown.length > 1 ? 's' : ''} ${unknown.map((r) => `"${r}"`).join(', ')}; declared: ${this.names.join(', ') || '(none)'}`)
    }
  }

  /** Every permission the roles grant; a role no longer declared grants nothing. */
  permissionsOf(roles: readonly string[]): Set<string> {
    const granted = new Set<string>()
    for (const role of roles) for (const permission of Object.hasOwn(this.declaration, role) ? (this.declaration[role] ?? []) : []) granted.add(permission)
    return granted
  }

  /** Whether the roles grant `permission`. */
  grants(roles: readonly string[], permission: string): boolean {
    return allows(this.permissionsOf(roles), permission)
  }
}

/**
 * Whether a set of granted permissions (with wildcards) covers `permission`.
 *
 * @example
 * allows(new Set(['devices:*']), 'devices:write') // true
 * allows(principal.permissions, 'users:manage')
 */
export function allows(granted: ReadonlySet<string>, permission: string): boolean {
  if (granted.has('*') || granted.has(permission)) return true
  const colon = permission.indexOf(':')
  return colon > 0 && granted.has(`${permission.slice(0, colon)}:*`)
}

/**
 * Declares the application's roles.
 *
 * @example
 * export const roles = defineRoles({ admin: ['*'], operator: ['devices:write'], user: [] })
 */
export function defineRoles(declaration: RoleDeclaration): Roles {
  return new Roles(declaration)
}
