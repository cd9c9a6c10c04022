// A trusted (system-level) plugin: the service lists it in plugins.trusted, so it runs in
// process, at the cost of a function call instead of a message round trip.

// Each unit as a pair of functions to and from its dimension's base unit.
const units = {
  temperature: {
    c: { to: (v) => v, from: (v) => v },
    f: { to: (v) => ((v - 32) * 5) / 9, from: (v) => (v * 9) / 5 + 32 },
    k: { to: (v) => v - 273.15, from: (v) => v + 273.15 },
  },
  pressure: {
    pa: { to: (v) => v, from: (v) => v },
    hpa: { to: (v) => v * 100, from: (v) => v / 100 },
    bar: { to: (v) => v * 100_000, from: (v) => v / 100_000 },
    psi: { to: (v) => v * 6894.757, from: (v) => v / 6894.757 },
  },
  length: {
    m: { to: (v) => v, from: (v) => v },
    cm: { to: (v) => v / 100, from: (v) => v * 100 },
    in: { to: (v) => v * 0.0254, from: (v) => v / 0.0254 },
    ft: { to: (v) => v * 0.3048, from: (v) => v / 0.3048 },
  },
}

function dimensionOf(unit) {
  return Object.keys(units).find((d) => Object.hasOwn(units[d], unit))
}

export async function activate(host) {
  // GET /api/v1/plugins/unit-converter/routes/convert?value=64.5&from=f&to=c
  await host.routes.register({ method: 'GET', path: '/convert' }, ({ query }) => handlers.convert({ value: Number(query.value), from: query.from, to: query.to }))
}

export const handlers = {
  /** { value, from, to } -> { value, unit }, rounded to 4 decimals. */
  convert(input) {
    const { value, from, to } = input ?? {}
    if (typeof value !== 'number' || !Number.isFinite(value)) throw new Error(`value must be a finite number; got ${JSON.stringify(value)}`)
    const a = dimensionOf(String(from).toLowerCase())
    const b = dimensionOf(String(to).toLowerCase())
    if (!a || !b) throw new Error(`unknown unit "${!a ? from : to}"; known: ${Object.values(units).flatMap((u) => Object.keys(u)).join(', ')}`)
    if (a !== b) throw new Error(`cannot convert ${a} (${from}) to ${b} (${to})`)
    const base = units[a][String(from).toLowerCase()].to(value)
    return { value: Math.round(units[b][String(to).toLowerCase()].from(base) * 10_000) / 10_000, unit: String(to).toLowerCase() }
  },
  units: () => Object.fromEntries(Object.entries(units).map(([d, u]) => [d, Object.keys(u)])),
}
