import Stripe from 'stripe'
import { productIdOf, type Catalogue, type Plan } from '../billing/plans.js'

export interface BootstrapAction {
  plan: string
  product: 'created' | 'updated' | 'unchanged'
  price: 'created' | 'replaced' | 'unchanged'
  price_id: string
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
 * plan (src/billing/plans.ts `planOf`). Nothing else is changed or deactivated.
 */
export async function bootstrapCatalogue (stripe: Stripe, catalogue: Catalogue): Promise<BootstrapAction[]> {
  const actions: BootstrapAction[] = []
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
      actions.push({ plan: plan.id, product, price: 'unchanged', price_id: current.id })
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
    actions.push({ plan: plan.id, product, price: current ? 'replaced' : 'created', price_id: created.id })
  }
  return actions
}
