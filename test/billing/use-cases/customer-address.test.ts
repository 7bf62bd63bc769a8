import t from 'tap'
import { eq } from 'drizzle-orm'
import { customers, emailOutbox } from '../../../src/db/schema.js'
import { checkoutPaid } from '../../helpers/stripe-emulator.js'
import { lifecycleEnv } from './lifecycle-helpers.js'

const DAY = 86_400

t.test('customer.updated changes the stored address; each payment-failed email goes to the address as of its event', async t => {
  const { em, deps, prices, newEvents, apply } = await lifecycleEnv(t)
  const { customerId } = await checkoutPaid(deps.stripe, em, 'u_ada', 'starter', prices.starter!, 'ada@old.example.test')
  for (const job of await newEvents()) await apply(job)
  const stored = async () => (await deps.db.select().from(customers).where(eq(customers.userId, 'u_ada')))[0]!

  await em.control('clock/advance', { seconds: 60 })
  await deps.stripe.customers.update(customerId, { email: 'ada@new.example.test' })
  const [moved] = (await newEvents()).filter(j => j.event.type === 'customer.updated')
  t.notOk(JSON.stringify(moved!.event).includes('ada@'), 'the job carries no address (the api strips personal data)')
  t.match(await apply(moved!), { outcome: 'applied', userId: 'u_ada' })
  t.match(await stored(), { email: 'ada@new.example.test', stripeTime: moved!.event.created }, 'the new address is stored')

  await em.control(`customers/${customerId}/fail-payments`, { fail: true })
  await em.control('clock/advance', { seconds: 31 * DAY })
  for (const job of await newEvents()) await apply(job)
  t.match(await deps.db.select().from(emailOutbox), [{ template: 'payment_failed', to: 'ada@new.example.test' }], 'the next payment-failed email goes to it')

  // Ada moves again; the next failed attempt is delivered before the customer.updated that preceded it.
  await em.control('clock/advance', { seconds: 60 })
  await deps.stripe.customers.update(customerId, { email: 'ada@third.example.test' })
  await em.control('clock/advance', { seconds: 5 * DAY })
  const jobs = await newEvents()
  const update = jobs.find(j => j.event.type === 'customer.updated')!
  const failed = jobs.find(j => j.event.type === 'invoice.payment_failed')!
  t.ok(update.event.created < failed.event.created, 'Stripe changed the address before the attempt failed')
  for (const job of jobs.filter(j => j !== update)) await apply(job)
  const [mail] = await deps.db.select().from(emailOutbox).where(eq(emailOutbox.eventId, failed.event.id))
  t.equal(mail?.to, 'ada@third.example.test', 'the address as of the failed attempt, not the older one stored')

  // The late customer.updated and an older one delivered last change nothing.
  await apply(update)
  await apply({ ...moved!, event: { ...moved!.event, id: 'evt_older_copy' } })
  t.match(await stored(), { email: 'ada@third.example.test' }, 'an older customer.updated does not overwrite a newer address')
  t.ok((await stored()).stripeTime! >= failed.event.created, 'stamped with the newest Stripe time it is known at')
})
