import { afterIntent } from './intent-results.js'
import { cancelPaymentIntent, settleProcessing } from './intents.js'
import { instrumentOf } from './payment-methods.js'
import { paymentIntentOf } from './invoices.js'
import { badRequest } from '../wire/errors.js'
import type { RequestInfo } from '../events.js'
import type { Ctx } from '../context.js'
import type { Obj } from '../store.js'

/** How long a bank debit paid on the page stays `processing` before its test IBAN settles it. */
export const SETTLE_MS = 1000

function processingIntent (ctx: Ctx, session: Obj): Obj | undefined {
  if (session.payment_intent) return ctx.store.get('payment_intents', session.payment_intent)
  const invoice = session.invoice ? ctx.store.get('invoices', session.invoice) : undefined
  return invoice && paymentIntentOf(ctx, invoice)
}

/**
 * A Checkout payment that completed `unpaid` (a bank debit) settles: the PaymentIntent succeeds or
 * fails, the invoice and subscription follow, and the session says so with
 * `checkout.session.async_payment_succeeded` or `…_failed`.
 */
export function settleCheckout (ctx: Ctx, session: Obj, ok: boolean, request?: RequestInfo): Obj {
  const pi = processingIntent(ctx, session)
  if (session.status !== 'complete' || !pi || pi.status !== 'processing') {
    throw badRequest(`Checkout Session ${session.id} has no payment in processing.`, 'session')
  }
  afterIntent(ctx, pi, settleProcessing(ctx, pi, ok, request), request)
  if (ok) session.payment_status = 'paid'
  ctx.emit(`checkout.session.async_payment_${ok ? 'succeeded' : 'failed'}`, session, { request })
  return session
}

/** A bank debit made on the page settles by itself, as its test IBAN says, shortly after. */
export function settleCheckoutLater (ctx: Ctx, session: Obj): void {
  ctx.background.schedule(`checkout:${session.id}`, () => {
    const pi = processingIntent(ctx, session)
    const pm = pi && ctx.store.get('payment_methods', pi.payment_method)
    const instrument = pm && instrumentOf(ctx, pm)
    if (pi?.status === 'processing') settleCheckout(ctx, session, !(instrument?.kind === 'sepa_debit' && instrument.fails))
  }, SETTLE_MS)
}

/** An open session expires (at `expires_at`, or when asked to): its payment, if any was begun, is canceled. */
export function expireSession (ctx: Ctx, session: Obj, request?: RequestInfo): Obj {
  if (session.status !== 'open') {
    throw badRequest(`Only Checkout Sessions with a status of \`open\` can be expired. This Checkout Session has a status of \`${session.status}\`.`, 'session')
  }
  const pi = session.payment_intent ? ctx.store.get('payment_intents', session.payment_intent) : undefined
  if (pi && !['succeeded', 'canceled'].includes(pi.status)) cancelPaymentIntent(ctx, pi, 'abandoned', request)
  Object.assign(session, { status: 'expired', url: null })
  ctx.emit('checkout.session.expired', session, { request })
  return session
}
