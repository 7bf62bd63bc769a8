import t from 'tap'
import { eq } from 'drizzle-orm'
import { parseCatalogue } from '../../../src/billing/plans.js'
import { createCheckout } from '../../../src/billing/use-cases/create-checkout.js'
import { entitlements, subscriptions } from '../../../src/db/schema.js'
import { createPricesProcessor } from '../../../src/queue/processors/prices.js'
import { bootstrapCatalogue } from '../../../src/stripe/bootstrap-catalogue.js'
import { eventNow, lifecycleEnv } from './lifecycle-helpers.js'

// Plans are told by the mark bootstrap puts on each price (metadata.tollgate_plan_id), never by the
// lookup key alone: a changed amount moves the key to a new price while existing subscribers stay
// on the old one.
t.test('a price change keeps existing subscribers on their plan (grandfathered); new checkouts get the new price', async t => {
  const { em, deps, newEvents, apply, raw } = await lifecycleEnv(t, {}, { seed: false })
  const applyNew = async () => { for (const job of await newEvents()) await apply(job) }
  const [{ price_id: oldPrice }] = (await bootstrapCatalogue(deps.stripe, deps.catalogue)).filter(a => a.plan === 'starter')
  const checkout = async (userId: string) => {
    const { session_id: sessionId } = await createCheckout({ ...deps, config: deps.config }, { plan_id: 'starter', user_id: userId, email: `${userId}@example.test` })
    return await em.control(`checkout/${sessionId}/complete`, { outcome: 'paid' })
  }
  const planOf = async (userId: string) => (await deps.db.select().from(entitlements).where(eq(entitlements.userId, userId)))[0]

  const early = await checkout('u_early')
  await applyNew()
  t.match(await planOf('u_early'), { planId: 'starter', access: true })

  // The starter plan gets dearer: bootstrap makes a new price and transfers the lookup key to it.
  const raised = parseCatalogue({
    currency: deps.catalogue.currency,
    plans: deps.catalogue.plans.map(p => (p.id === 'starter' ? { ...p, unit_amount: p.unit_amount + 500 } : p))
  })
  const actions = await bootstrapCatalogue(deps.stripe, raised)
  const newPrice = actions.find(a => a.plan === 'starter')!
  t.equal(newPrice.price, 'replaced')
  const old = await deps.stripe.prices.retrieve(oldPrice)
  t.equal(old.lookup_key, null, 'the old price lost its lookup key')
  await applyNew()
  // The price events queued a refresh of the price cache; the prices worker runs it.
  t.ok(await deps.queues.prices.count() > 0, 'a price refresh is queued')
  await createPricesProcessor(deps)()

  // The next event about the early subscriber's subscription, as Stripe renders it: the item's price is the price as it is now.
  const sub = await raw(`subscriptions/${String(early.subscription)}`)
  const price = await raw(`prices/${oldPrice}`)
  const current = { ...sub, cancel_at_period_end: true, items: { ...sub.items, data: sub.items.data.map((i: object) => ({ ...i, price })) } }
  t.match(await apply(await eventNow(em, 'customer.subscription.updated', current)), { outcome: 'applied' })
  const early2 = await planOf('u_early')
  t.match(early2, { planId: 'starter', access: true, cancelAtPeriodEnd: true }, 'still on the starter plan')
  t.same(early2!.features, deps.catalogue.byId('starter')!.features, 'with its features')
  t.same(early2!.limits, deps.catalogue.byId('starter')!.limits, 'and its limits')

  const late = await checkout('u_late')
  await applyNew()
  const [lateSub] = await deps.db.select().from(subscriptions).where(eq(subscriptions.stripeSubscriptionId, late.subscription))
  t.match(lateSub, { planId: 'starter', priceId: newPrice.price_id }, 'a new checkout gets the new price')
  const [earlySub] = await deps.db.select().from(subscriptions).where(eq(subscriptions.stripeSubscriptionId, early.subscription))
  t.match(earlySub, { planId: 'starter', priceId: oldPrice }, 'the early subscriber keeps the old one')
})

t.test('plans: the price\'s mark first, then bootstrap\'s product, the lookup key only for an unmarked price', async t => {
  const { deps } = await lifecycleEnv(t, {}, { seed: false })
  const c = deps.catalogue
  t.equal(c.planOf({ planId: 'pro', productId: 'tollgate_starter', lookupKey: 'starter_monthly' })?.id, 'pro', 'the price\'s metadata wins')
  t.equal(c.planOf({ planId: null, productId: 'tollgate_pro', lookupKey: null })?.id, 'pro', 'a price of bootstrap\'s product without metadata')
  t.equal(c.planOf({ planId: null, productId: 'prod_x', lookupKey: 'pro_monthly' })?.id, 'pro', 'a hand-made price holding the key')
  t.equal(c.planOf({ planId: 'gone', productId: 'tollgate_pro', lookupKey: 'pro_monthly' }), undefined, 'a mark naming no plan of the catalogue names none')
})
