import Stripe from 'stripe'
import { meterEventName, overageLookupKey, overagesOf, productIdOf, type Catalogue, type Overage, type Plan } from '../billing/plans.js'

export interface BootstrapAction {
  plan: string
  product: 'created' | 'updated' | 'unchanged'
  price: 'created' | 'replaced' | 'unchanged'
  price_id: string
  /** The metered prices that bill the plan's overage, one per metric. */
  overage: Array<{ metric: string, meter_id: string, price: 'created' | 'replaced' | 'unchanged', price_id: string }>
}

/** The active meter counting a metric's overage events, created when missing. */
async function ensureMeter (stripe: Stripe, metric: string): Promise<string> {
  const eventName = meterEventName(metric)
  for await (const m of stripe.billing.meters.list({ status: 'active', limit: 100 })) {
    if (m.event_name === eventName) return m.id
  }
  const created = await stripe.billing.meters.create({
    display_name: `Tollgate ${metric} overage`, event_name: eventName, default_aggregation: { formula: 'sum' }
  })
  return created.id
}

/** The plan's metered price for one overage, by its lookup key: replaced when its amount, block or meter changed. */
async function upsertOveragePrice (stripe: Stripe, catalogue: Catalogue, plan: Plan, o: Overage, meterId: string): Promise<BootstrapAction['overage'][number]> {
  const lookupKey = overageLookupKey(plan, o.metric)
  const { data } = await stripe.prices.list({ lookup_keys: [lookupKey], active: true, limit: 1 })
  const current = data[0]
  const matches = current &&
    current.unit_amount === o.unitAmount &&
    current.currency === catalogue.currency &&
    current.recurring?.meter === meterId &&
    current.recurring?.interval === plan.interval &&
    (current.transform_quantity?.divide_by ?? 1) === o.per
  if (matches) return { metric: o.metric, meter_id: meterId, price: 'unchanged', price_id: current.id }
  const created = await stripe.prices.create({
    product: productIdOf(plan),
    currency: catalogue.currency,
    unit_amount: o.unitAmount,
    recurring: { interval: plan.interval, usage_type: 'metered', meter: meterId },
    ...(o.per > 1 && { transform_quantity: { divide_by: o.per, round: 'up' } }),
    lookup_key: lookupKey,
    transfer_lookup_key: true,
    nickname: `${plan.name} ${o.metric} overage`,
    metadata: { tollgate_plan_id: plan.id, tollgate_metric: o.metric }
  })
  return { metric: o.metric, meter_id: meterId, price: current ? 'replaced' : 'created', price_id: created.id }
}

async function upsertProduct (stripe: Stripe, plan: Plan): Promise<BootstrapAction['product']> {
  const id = productIdOf(plan)
  let product: Stripe.Product
  try {
    product = await stripe.products.retrieve(id)
  } catch (err) {
    if (!(err instanceof Stripe.errors.StripeInvalidRequestError && err.statusCode === 404)) throw err
    await stripe.products.create({ id, name: plan.name, metadata: { tollgate_plan_id: plan.id } })
    return 'created'
  }
  if (product.name === plan.name && product.active) return 'unchanged'
  await stripe.products.update(id, { name: plan.name, active: true })
  return 'updated'
}

/**
 * Makes the Stripe account match the catalogue, safe to run any number of times: each plan has a
 * product, and its lookup key names an active price with the catalogue's amount, currency and
 * interval. Stripe prices are immutable, so a changed amount means a new price that takes the lookup
 * key over (`transfer_lookup_key`); the old price stays active for the subscriptions already on it,
 * which keep their amount and their plan (grandfathered) until moved: every price and product
 * carries its plan in `metadata.tollgate_plan_id`, which is how Tollgate tells a subscription's
 * plan (src/billing/plans.ts `planOf`). A plan that bills overage gets a Billing Meter per metric
 * (shared by the plans) and a metered price on that meter, by its own lookup key, which checkout adds
 * to the subscription. Nothing else is changed or deactivated.
 */
export async function bootstrapCatalogue (stripe: Stripe, catalogue: Catalogue): Promise<BootstrapAction[]> {
  const actions: BootstrapAction[] = []
  const meters = new Map<string, string>()
  const overage = async (plan: Plan) => {
    const done: BootstrapAction['overage'] = []
    for (const o of overagesOf(plan)) {
      if (!meters.has(o.metric)) meters.set(o.metric, await ensureMeter(stripe, o.metric))
      done.push(await upsertOveragePrice(stripe, catalogue, plan, o, meters.get(o.metric)!))
    }
    return done
  }
  for (const plan of catalogue.plans) {
    const product = await upsertProduct(stripe, plan)
    const { data } = await stripe.prices.list({ lookup_keys: [plan.lookup_key], active: true, limit: 1 })
    const current = data[0]
    const productId = productIdOf(plan)
    const matches = current &&
      current.unit_amount === plan.unit_amount &&
      current.currency === catalogue.currency &&
      current.recurring?.interval === plan.interval &&
      (typeof current.product === 'string' ? current.product : current.product.id) === productId
    if (matches) {
      // A price made before prices carried their plan gets its mark: it keeps its plan after a key transfer.
      if (current.metadata?.tollgate_plan_id !== plan.id) await stripe.prices.update(current.id, { metadata: { tollgate_plan_id: plan.id } })
      actions.push({ plan: plan.id, product, price: 'unchanged', price_id: current.id, overage: await overage(plan) })
      continue
    }
    const created = await stripe.prices.create({
      product: productId,
      currency: catalogue.currency,
      unit_amount: plan.unit_amount,
      recurring: { interval: plan.interval },
      lookup_key: plan.lookup_key,
      transfer_lookup_key: true,
      nickname: plan.name,
      metadata: { tollgate_plan_id: plan.id }
    })
    actions.push({ plan: plan.id, product, price: current ? 'replaced' : 'created', price_id: created.id, overage: await overage(plan) })
  }
  return actions
}
