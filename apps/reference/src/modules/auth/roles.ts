import { defineRoles } from '@plinth/auth'

/**
 * The reference service's roles. Reading is open to anyone; writing devices and readings needs
 * an operator; managing users' roles needs an admin. New accounts are `user`s.
 */
export const roles = defineRoles({
  admin: ['*'],
  operator: ['devices:write', 'readings:write'],
  user: [],
})
