import t from 'tap'
import { eq } from 'drizzle-orm'
import { createCheckoutStatus } from '../../../src/billing/use-cases/checkout-status.js'
import { createCheckout } from '../../../src/billing/use-cases/create-checkout.js'
import { readEntitlements } from '../../../src/billing/use-cases/read-entitlements.js'
import { checkoutSessions, emailOutbox } from '../../../src/db/schema.js'
import { renderEmail } from '../../../src/mail/templates.js'
import type { StripeEventJob } from '../../../src/queue/policy.js'
import { eventNow, lifecycleEnv } from './lifecycle-helpers.js'

// An asynchronous payment method (a bank debit) completes Checkout before the money arrives:
// `checkout.session.completed` says `payment_status: "unpaid"`, and Stripe later sends
// `checkout.session.async_payment_succeeded` or `…_failed`.
t.test('a checkout paid by bank debit provisions when the payment succeeds, and never when it fails', async t => {
  const { em, deps, config, newEvents, apply, applyDeps, raw } = await lifecycleEnv(t)
  const status = createCheckoutStatus(applyDeps)
  const access = async (userId: string) => (await readEntitlements({ db: deps.db, redis: deps.redis, prefix: config.QUEUE_PREFIX, ttlSeconds: 60 }, userId)).access

  /** A checkout the customer finished with a bank debit that is still on its way. */
  async function debitCheckout (userId: string) {
    const { session_id: sessionId } = await createCheckout({ ...deps, config }, { plan_id: 'pro', user_id: userId, email: `${userId}@example.test` })
    await em.control(`checkout/${sessionId}/complete`, { outcome: 'paid' })
    const jobs = await newEvents()
    // Until the debit clears, Stripe has sent neither a paid invoice nor a paid session.
    for (const job of jobs.filter(j => !['checkout.session.completed', 'invoice.paid'].includes(j.event.type))) await apply(job)
    const session = await raw(`checkout/sessions/${sessionId}`)
    const completed = (await eventNow(em, 'checkout.session.completed', { ...session, payment_status: 'unpaid' }))
    const paidInvoice = jobs.find(j => j.event.type === 'invoice.paid')!
    return { sessionId, session, completed, paidInvoice }
  }
  const outcome = async (session: Record<string, unknown>, type: string) => await eventNow(em, type, { ...session, payment_status: type.endsWith('succeeded') ? 'paid' : 'unpaid' })
  const later = (job: StripeEventJob, seconds: number): StripeEventJob => ({ ...job, event: { ...job.event, created: job.event.created + seconds } })

  t.test('pending, then paid', async t => {
    const { sessionId, session, completed, paidInvoice } = await debitCheckout('u_debit')
    t.match(await apply(completed), { outcome: 'applied', userId: 'u_debit' })
    t.match(await status(sessionId), { status: 'payment_pending', provisioned: false }, 'not provisioned while the debit is on its way')
    t.equal(await access('u_debit'), false, 'and no access')

    t.match(await apply(later(await outcome(session, 'checkout.session.async_payment_succeeded'), 1)), { outcome: 'applied' })
    await apply(paidInvoice)
    t.match(await status(sessionId), { status: 'complete', provisioned: true }, 'provisioned once the payment succeeded')
    t.equal(await access('u_debit'), true)
  })

  t.test('the outcome first, the completion late: still provisioned', async t => {
    const { sessionId, session, completed } = await debitCheckout('u_late')
    await apply(later(await outcome(session, 'checkout.session.async_payment_succeeded'), 2))
    await apply(completed)
    t.match((await deps.db.select().from(checkoutSessions).where(eq(checkoutSessions.sessionId, sessionId)))[0], { status: 'complete' })
    t.match(await status(sessionId), { provisioned: true })
  })

  t.test('pending, then failed: no access, and the user is told', async t => {
    const { sessionId, session, completed } = await debitCheckout('u_bounce')
    await apply(completed)
    const failed = later(await outcome(session, 'checkout.session.async_payment_failed'), 1)
    t.match(await apply(failed), { outcome: 'applied', userId: 'u_bounce' })
    t.match(await status(sessionId), { status: 'payment_failed', provisioned: false })
    t.equal(await access('u_bounce'), false, 'no access although Stripe\'s subscription status alone would grant it')
    const mails = await deps.db.select().from(emailOutbox).where(eq(emailOutbox.eventId, failed.event.id))
    t.match(mails, [{ template: 'checkout_payment_failed', to: 'u_bounce@example.test', userId: 'u_bounce', data: { session_id: sessionId, plan_id: 'pro' } }])
    t.match(renderEmail(mails[0]!.template, mails[0]!.data, { appUrl: 'http://app.example.test' }), { subject: /did not go through/, text: /pro subscription/ })
  })
})
