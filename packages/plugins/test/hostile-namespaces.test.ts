import { describe, it } from 'vitest'
import { availableIsolation } from '../src/index.js'
import { hostileSuite } from './hostile.case.js'

// Where this machine has no unprivileged user namespaces the suite is reported skipped, with the reason.
if (availableIsolation(process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : undefined) === 'namespaces') hostileSuite('namespaces')
else describe.skip('hostile plugins (namespaces isolation): unshare or unprivileged user namespaces are not available here', () => it('skipped', () => {}))
