import { createCustomer } from '../resources/customers.js'
import { customerDetails } from './build.js'
import { VISA } from './cards.js'
import { createInvoiceItem } from './invoice-items.js'
import { paymentIntentOf } from './invoices.js'
import { confirmPaymentIntent, createPaymentIntent, predictCharge } from './intents.js'
import { attachPaymentMethod, cardPaymentMethod, instrumentOf, sepaPaymentMethod } from './payment-methods.js'
import { createSetupIntent, confirmSetupIntent } from './setup-intents.js'
import { applyEnteredCode, sessionRedemptions, sessionTotals } from './checkout-discounts.js'
import { createDiscount, type Redemption } from './discounts.js'
import { upfrontAmount } from './pricing.js'
import { startSubscription } from './start-subscription.js'
import { badRequest } from '../wire/errors.js'
import type { Ctx } from '../context.js'
import type { Obj, SessionDetails } from '../store.js'

export type CheckoutOutcome = 'paid' | 'declined' | 'processing'

/** The SEPA test IBAN whose debit settles successfully. */
export const PROCESSING_IBAN = 'AT611904300234573201'

const details = (ctx: Ctx, session: Obj): SessionDetails => ctx.store.sessionDetails.get(session.id)!

function pricedLines (ctx: Ctx, session: Obj) {
  return details(ctx, session).lineItems.map((l) => ({ price: ctx.store.get('prices', l.price)!, quantity: l.quantity }))
}

/** The trial a subscription-mode session starts with, as an end time (null: none). */
export function sessionTrialEnd (ctx: Ctx, session: Obj): number | null {
  const data = details(ctx, session).subscriptionData
  if (data.trialEnd) return data.trialEnd
  const days = data.trialPeriodDays ?? pricedLines(ctx, session).find((l) => l.price.recurring?.trial_period_days)?.price.recurring.trial_period_days
  return days ? ctx.now(session.customer) + days * 86_400 : null
}

/** What the page charges today, discount taken off: nothing for a subscription that starts with a trial (its one-time items aside). */
export function dueToday (ctx: Ctx, session: Obj): number {
  return checkoutTotals(ctx, session).total
}

/** Today's amounts of a session, line by line (setup mode: nothing). */
export function checkoutTotals (ctx: Ctx, session: Obj) {
  if (session.mode === 'setup') return { subtotal: 0, discount: 0, total: 0, lines: [] }
  const trial = session.mode === 'subscription' && sessionTrialEnd(ctx, session) !== null
  return sessionTotals(ctx, session, pricedLines(ctx, session), (l) => !(trial && l.price.type === 'recurring'))
}

/** The session's `amount_subtotal`, `amount_total` and `total_details.amount_discount`, as they are now. */
export function priceSession (ctx: Ctx, session: Obj): void {
  if (session.mode === 'setup') return
  const totals = checkoutTotals(ctx, session)
  // The subtotal is what the items cost, a trial or not; the total what is charged today.
  session.amount_subtotal = pricedLines(ctx, session).reduce((sum, l) => sum + upfrontAmount(ctx, l.price, l.quantity), 0)
  session.amount_total = totals.total
  session.total_details = { ...session.total_details, amount_discount: totals.discount }
}

/** The customer types a promotion code on the page (`allow_promotion_codes`); the session's amounts follow. */
export function enterPromotionCode (ctx: Ctx, session: Obj, code: string): void {
  applyEnteredCode(ctx, session, code, session.amount_subtotal ?? 0)
  priceSession(ctx, session)
}

/** Stripe's page skips the card form only for a subscription with nothing due today and `payment_method_collection=if_required`. */
export const collectsPaymentMethod = (ctx: Ctx, session: Obj): boolean =>
  !(session.mode === 'subscription' && session.payment_method_collection === 'if_required' && dueToday(ctx, session) === 0)

function sessionCustomer (ctx: Ctx, session: Obj): Obj | null {
  if (session.customer) return ctx.store.get('customers', session.customer)!
  if (session.mode === 'payment' && session.customer_creation !== 'always') return null
  return createCustomer(ctx, { email: session.customer_email ?? 'customer@example.com' })
}

function subscribe (ctx: Ctx, session: Obj, customer: Obj, pm: Obj | null, discounts: Redemption[]): void {
  const data = details(ctx, session).subscriptionData
  const lines = pricedLines(ctx, session)
  const extraItems = lines.filter((l) => l.price.type !== 'recurring').map((l) => createInvoiceItem(ctx, {
    customer, price: l.price, quantity: l.quantity, amount: upfrontAmount(ctx, l.price, l.quantity), currency: l.price.currency, description: ctx.store.get('products', l.price.product)?.name
  }))
  const sub = startSubscription(ctx, {
    customer,
    lines: lines.filter((l) => l.price.type === 'recurring'),
    extraItems,
    metadata: data.metadata,
    paymentBehavior: 'allow_incomplete',
    paymentMethod: pm,
    trialEnd: sessionTrialEnd(ctx, session),
    fields: {
      description: data.description,
      trial_settings: { end_behavior: { billing_cycle_anchor: null, missing_payment_method: data.missingPaymentMethod } }
    },
    customerPresent: true,
    discounts
  })
  session.subscription = sub.id
  session.invoice = sub.latest_invoice
}

function pay (ctx: Ctx, session: Obj, customer: Obj | null, pm: Obj): string {
  const data = details(ctx, session).paymentIntentData
  // Another try after a decline reuses the session's PaymentIntent, as Stripe's page does.
  const earlier = session.payment_intent ? ctx.store.get('payment_intents', session.payment_intent) : undefined
  if (earlier?.status === 'requires_payment_method') return confirmPaymentIntent(ctx, earlier, pm, { customerPresent: true })
  const pi = createPaymentIntent(ctx, {
    amount: session.amount_total,
    currency: session.currency,
    customer: customer?.id ?? null,
    description: data.description,
    metadata: data.metadata,
    payment_method_types: session.payment_method_types,
    setup_future_usage: data.setupFutureUsage
  }, { checkout: session.id })
  session.payment_intent = pi.id
  return confirmPaymentIntent(ctx, pi, pm, { customerPresent: true })
}

function setUp (ctx: Ctx, session: Obj, customer: Obj | null, pm: Obj): void {
  const data = details(ctx, session).setupIntentData
  const si = createSetupIntent(ctx, { customer: customer?.id ?? null, description: data.description, metadata: data.metadata, payment_method_types: session.payment_method_types })
  session.setup_intent = si.id
  confirmSetupIntent(ctx, si, pm)
}

export interface CheckoutResult {
  session: Obj
  /** Why the page refused the payment method; the session stays open. */
  decline?: Obj
}

function refusedBy (ctx: Ctx, session: Obj, pm: Obj): Obj | undefined {
  const instrument = instrumentOf(ctx, pm)
  if (instrument?.kind !== 'card') return undefined
  const behaviour = session.mode === 'setup' || dueToday(ctx, session) === 0
    ? instrument.card.setup
    : predictCharge(ctx, pm, session.customer, { customerPresent: true })
  return typeof behaviour === 'object' ? { ...behaviour, type: 'card_error' } : undefined
}

/** The payment method the page would create for an outcome: Stripe's test card, or a SEPA debit that stays processing. */
export function pageMethod (ctx: Ctx, outcome: CheckoutOutcome, email: string | null): Obj {
  const billing = { address: { city: null, country: null, line1: null, line2: null, postal_code: null, state: null }, email, name: null, phone: null, tax_id: null }
  return outcome === 'processing' ? sepaPaymentMethod(ctx, PROCESSING_IBAN, { billing_details: billing }) : cardPaymentMethod(ctx, VISA, { billing_details: billing })
}

/**
 * What Stripe does when the customer submits the hosted page with `pm` (null: no payment method is
 * collected, a trial with `payment_method_collection=if_required`). Everything is caused by Checkout, so
 * no event carries a request id. A declined card leaves the session open for another try; a bank
 * debit completes it `unpaid` and settles later (checkout.session.async_payment_succeeded / _failed).
 */
export function completeCheckout (ctx: Ctx, session: Obj, pm: Obj | null): CheckoutResult {
  if (session.status !== 'open') throw badRequest(`This Checkout Session is ${session.status}.`, 'session')
  if (pm === null && collectsPaymentMethod(ctx, session)) throw badRequest('This Checkout Session needs a payment method.', 'payment_method')
  // A card the page refuses creates nothing in subscription and setup mode; payment mode keeps the failed attempt.
  const refusal = pm && session.mode !== 'payment' ? refusedBy(ctx, session, pm) : undefined
  if (refusal) return { session, decline: refusal }
  // Checked again now: the code may have been used up since the session was made.
  const redemptions = sessionRedemptions(ctx, session, session.amount_subtotal ?? 0)
  const customer = sessionCustomer(ctx, session)
  if (pm && customer && session.mode !== 'payment') attachPaymentMethod(ctx, pm, customer)
  let status = 'no_payment_required'
  if (session.mode === 'subscription') {
    subscribe(ctx, session, customer!, pm, redemptions)
    const invoice = ctx.store.get('invoices', session.invoice)!
    const pi = paymentIntentOf(ctx, invoice)
    if (pi) ctx.store.internal(pi.id).session = session.id
    status = dueToday(ctx, session) === 0 ? 'no_payment_required' : invoice.status === 'paid' ? 'paid' : 'unpaid'
  } else if (session.mode === 'payment') {
    const outcome = pay(ctx, session, customer, pm!)
    // A payment's discount is the session's own; it counts as a redemption once the payment goes through.
    if (outcome !== 'requires_payment_method') {
      for (const r of redemptions) createDiscount(ctx, r, { customer: customer?.id ?? null, checkoutSession: session.id, start: ctx.now(customer) })
    }
    ctx.store.internal(session.payment_intent).session = session.id
    const pi = ctx.store.get('payment_intents', session.payment_intent)!
    if (outcome === 'requires_payment_method') return { session, decline: pi.last_payment_error }
    status = outcome === 'succeeded' ? 'paid' : 'unpaid'
  } else {
    setUp(ctx, session, customer, pm!)
  }
  Object.assign(session, {
    customer: customer?.id ?? null,
    customer_details: customerDetails(customer ?? { email: session.customer_email ?? pm?.billing_details?.email ?? null, name: null, phone: null }),
    payment_status: status,
    status: 'complete',
    url: null
  })
  ctx.emit('checkout.session.completed', session)
  return { session }
}
