import { describe, expect, it } from 'vitest'
import { ways } from './broken-apps.js'

describe.each(ways)('a broken app through %s', (_, launch) => {
  it('files that import each other in a circle get the circle of files and the lazy form as the fix', async () => {
    const { code, stderr } = await launch('import-cycle')
    expect(code).toBe(1)
    expect(stderr).toContain('PLINTH_ERR_IMPORT_CYCLE')
    expect(stderr).toContain('src/orders.ts -> src/payments.ts -> src/ledger.ts -> src/orders.ts')
    expect(stderr).toContain('src/ledger.ts:5 reads "orders" before src/orders.ts has finished loading')
    expect(stderr).toContain('`deps: () => ({ orders })`')
    expect(stderr).not.toMatch(/^\s+at /m) // a report, not a stack
  })

  it('with the lazy form the files load, and the dependency cycle is reported with its closing edge and the fix', async () => {
    const { code, stderr } = await launch('dependency-cycle')
    expect(code).toBe(1)
    expect(stderr).toContain('[PLINTH_ERR_CYCLE] dependency cycle: orders -> payments -> ledger -> orders')
    expect(stderr).toContain('"ledger" depends on "orders" as deps.orders (src/ledger.ts:5), which closes it')
    expect(stderr).toContain('orders declared at src/orders.ts:4')
    expect(stderr).toMatch(/fix: Break the cycle/)
  })
})
