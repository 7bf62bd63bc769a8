import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { Type, type Static } from 'typebox'
import { Value } from 'typebox/value'

/** The catalogue shipped with Tollgate; `PLANS_FILE` points at your own. */
export const DEFAULT_PLANS_FILE = fileURLToPath(new URL('./plans.json', import.meta.url))

const Id = Type.String({ pattern: '^[a-z0-9][a-z0-9_-]{0,63}$' })

const PlanSchema = Type.Object({
  id: Id,
  name: Type.String({ minLength: 1, maxLength: 100 }),
  /** Stripe price lookup key: price IDs are resolved at run time, never written down. */
  lookup_key: Type.String({ pattern: '^[A-Za-z0-9_.-]{1,200}$' }),
  /** Used by `npm run stripe:bootstrap` to create the price; live amounts come from Stripe. */
  unit_amount: Type.Integer({ minimum: 0 }),
  interval: Type.Union([Type.Literal('day'), Type.Literal('week'), Type.Literal('month'), Type.Literal('year')]),
  features: Type.Record(Type.String(), Type.Boolean()),
  limits: Type.Record(Type.String(), Type.Number())
}, { additionalProperties: false })

const CatalogueSchema = Type.Object({
  currency: Type.String({ pattern: '^[a-z]{3}$' }),
  plans: Type.Array(PlanSchema, { minItems: 1 })
}, { additionalProperties: false })

export type Plan = Static<typeof PlanSchema>

export interface Catalogue {
  currency: string
  plans: Plan[]
  byId: (id: string) => Plan | undefined
  byLookupKey: (key: string | null | undefined) => Plan | undefined
  ids: string[]
}

/** Validates a catalogue; the error names the file and the first problem. */
export function parseCatalogue (raw: unknown, source = 'plans'): Catalogue {
  if (!Value.Check(CatalogueSchema, raw)) {
    const first = Value.Errors(CatalogueSchema, raw)[0]
    throw new Error(`Invalid plan catalogue ${source}: ${first?.instancePath || '/'} ${first?.message ?? 'is invalid'}`)
  }
  const { currency, plans } = raw
  for (const field of ['id', 'lookup_key'] as const) {
    const seen = new Set<string>()
    for (const p of plans) {
      if (seen.has(p[field])) throw new Error(`Invalid plan catalogue ${source}: duplicate ${field} "${p[field]}"`)
      seen.add(p[field])
    }
  }
  const byId = new Map(plans.map(p => [p.id, p]))
  const byKey = new Map(plans.map(p => [p.lookup_key, p]))
  return {
    currency,
    plans,
    ids: plans.map(p => p.id),
    byId: id => byId.get(id),
    byLookupKey: key => (key ? byKey.get(key) : undefined)
  }
}

export function loadCatalogue (file = DEFAULT_PLANS_FILE): Catalogue {
  let raw: unknown
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'))
  } catch (err) {
    throw new Error(`Cannot read plan catalogue ${file}: ${(err as Error).message}`)
  }
  return parseCatalogue(raw, file)
}
