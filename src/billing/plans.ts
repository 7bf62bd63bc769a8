import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import Schema, { type XStatic } from 'typebox/schema'

/** The catalogue shipped with Tollgate; `PLANS_FILE` points at your own. */
export const DEFAULT_PLANS_FILE = fileURLToPath(new URL('./plans.json', import.meta.url))

// The catalogue's rules are plain JSON Schema checked by TypeBox's schema engine, not built with its
// type builder: every worker loads this module, and the builder (about 370 modules) is what only
// the api's routes need.

/**
 * How a metered limit is enforced once its included amount is used: `hard` refuses what would pass
 * it, `soft` lets it through (the user is told at 80 % and 100 %), `overage` lets it through and
 * bills what is above it, `unit_amount` (smallest currency unit) per `per` units.
 */
const MeteredSchema = {
  anyOf: [
    { type: 'object', properties: { enforcement: { enum: ['hard', 'soft'] } }, required: ['enforcement'], additionalProperties: false },
    {
      type: 'object',
      properties: {
        enforcement: { const: 'overage' },
        overage: {
          type: 'object',
          properties: {
            unit_amount: { type: 'integer', minimum: 1 },
            per: { type: 'integer', minimum: 1, maximum: 1_000_000_000 }
          },
          required: ['unit_amount'],
          additionalProperties: false
        }
      },
      required: ['enforcement', 'overage'],
      additionalProperties: false
    }
  ]
} as const

const PlanSchema = {
  type: 'object',
  properties: {
    id: { type: 'string', pattern: '^[a-z0-9][a-z0-9_-]{0,63}$' },
    name: { type: 'string', minLength: 1, maxLength: 100 },
    /** Stripe price lookup key: price IDs are resolved at run time, never written down. */
    lookup_key: { type: 'string', pattern: '^[A-Za-z0-9_.-]{1,200}$' },
    /** Used by `npm run stripe:bootstrap` to create the price; live amounts come from Stripe. */
    unit_amount: { type: 'integer', minimum: 0 },
    interval: { enum: ['day', 'week', 'month', 'year'] },
    features: { type: 'object', additionalProperties: { type: 'boolean' } },
    limits: { type: 'object', additionalProperties: { type: 'number' } },
    /** Checkout starts a trial of this many days (Stripe allows 1 to 730), once per user ever. */
    trial_days: { type: 'integer', minimum: 1, maximum: 730 },
    /** The trial starts without a card; without one at its end the subscription ends as `trial_end_behavior` says. */
    trial_without_card: { type: 'boolean' },
    trial_end_behavior: { enum: ['cancel', 'pause'] },
    /** Which limits are counted per billing period (POST /api/v1/usage/consume), and how. */
    metered: { type: 'object', additionalProperties: MeteredSchema }
  },
  required: ['id', 'name', 'lookup_key', 'unit_amount', 'interval', 'features', 'limits'],
  additionalProperties: false
} as const

const CatalogueSchema = {
  type: 'object',
  properties: {
    currency: { type: 'string', pattern: '^[a-z]{3}$' },
    plans: { type: 'array', items: PlanSchema, minItems: 1 }
  },
  required: ['currency', 'plans'],
  additionalProperties: false
} as const

export type Plan = XStatic<typeof PlanSchema>
export type Metered = XStatic<typeof MeteredSchema>

/** What identifies a price's plan, as a Stripe price carries it. */
export interface PriceRef {
  /** `metadata.tollgate_plan_id`, written by `npm run stripe:bootstrap` on every price it creates. */
  planId: string | null
  productId: string | null
  lookupKey: string | null
}

/** A limit billed past its included amount, and how. */
export interface Overage { metric: string, unitAmount: number, per: number }

/** What a plan bills as overage (the metered limits it declares `overage`). */
export const overagesOf = (plan: Plan): Overage[] => Object.entries(plan.metered ?? {}).flatMap(([metric, m]) =>
  m.enforcement === 'overage' ? [{ metric, unitAmount: m.overage.unit_amount, per: m.overage.per ?? 1 }] : [])

/** The lookup key of a plan's metered overage price for one metric. */
export const overageLookupKey = (plan: Pick<Plan, 'lookup_key'>, metric: string) => `${plan.lookup_key}_${metric}_overage`

/** The Stripe Billing Meter event name a metric's overage is reported under (one meter per metric). */
export const meterEventName = (metric: string) => `tollgate_${metric}`

/** The product id bootstrap gives each plan's product, so a second run finds it without a search. */
export const productIdOf = (plan: Pick<Plan, 'id'>) => `tollgate_${plan.id}`

export interface Catalogue {
  currency: string
  plans: Plan[]
  byId: (id: string) => Plan | undefined
  byLookupKey: (key: string | null | undefined) => Plan | undefined
  /**
   * The plan a subscribed price belongs to. A lookup key moves to a new price when an amount
   * changes, while existing subscribers stay on the old price (grandfathered), so the price's own
   * mark comes first: its `metadata.tollgate_plan_id`, then its product (`tollgate_<plan>`), and
   * only for a price neither marks (one made by hand) the lookup key it holds.
   */
  planOf: (price: PriceRef | null | undefined) => Plan | undefined
  ids: string[]
  /** Every metric some plan meters, sorted: what a usage call may name. */
  meteredMetrics: string[]
}

/** Validates a catalogue; the error names the file and the first problem. */
export function parseCatalogue (raw: unknown, source = 'plans'): Catalogue {
  if (!Schema.Check(CatalogueSchema, raw)) {
    const first = Schema.Errors(CatalogueSchema, raw)[1][0]
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
  for (const p of plans) {
    if ((p.trial_without_card !== undefined || p.trial_end_behavior !== undefined) && p.trial_days === undefined) {
      throw new Error(`Invalid plan catalogue ${source}: plan "${p.id}" sets trial_without_card or trial_end_behavior without trial_days`)
    }
    if (p.trial_end_behavior !== undefined && p.trial_without_card !== true) {
      throw new Error(`Invalid plan catalogue ${source}: plan "${p.id}" sets trial_end_behavior, which only a trial_without_card plan uses`)
    }
    for (const metric of Object.keys(p.metered ?? {})) {
      const limit = p.limits[metric]
      // Counters are whole units in Redis: a metered limit is a whole number of them.
      if (limit === undefined || !Number.isSafeInteger(limit) || limit < 0) {
        throw new Error(`Invalid plan catalogue ${source}: plan "${p.id}" meters "${metric}", which needs a whole limit of at least 0 in its limits`)
      }
    }
  }
  const byId = new Map(plans.map(p => [p.id, p]))
  const byKey = new Map(plans.map(p => [p.lookup_key, p]))
  const byProduct = new Map(plans.map(p => [productIdOf(p), p]))
  const byLookupKey = (key: string | null | undefined) => (key ? byKey.get(key) : undefined)
  return {
    currency,
    plans,
    ids: plans.map(p => p.id),
    meteredMetrics: [...new Set(plans.flatMap(p => Object.keys(p.metered ?? {})))].sort(),
    byId: id => byId.get(id),
    byLookupKey,
    planOf: price => {
      if (!price) return undefined
      if (price.planId) return byId.get(price.planId)
      if (price.productId && byProduct.has(price.productId)) return byProduct.get(price.productId)
      return byLookupKey(price.lookupKey)
    }
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
