import { afterIntent } from './intent-results.js'
import { cancelPaymentIntent, settleProcessing } from './intents.js'
import { instrumentOf } from './payment-methods.js'
import { paymentIntentOf } from './invoices.js'
import { badRequest } from '../wire/errors.js'
import type { RequestInfo } from '../events.js'
import type { Ctx } from '../context.js'
import type { Obj } from '../store.js'

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
  ctx.store.internal(pi.payment_method).manualSettle = false
  ctx.background.cancel(`settle:${pi.id}`)
  afterIntent(ctx, pi, settleProcessing(ctx, pi, ok, request), request)
  if (ok) session.payment_status = 'paid'
  ctx.emit(`checkout.session.async_payment_${ok ? 'succeeded' : 'failed'}`, session, { request })
  return session
}

/** A bank debit in `processing` settles as its test IBAN says: through its Checkout Session if it has one. */
export function settleIntentNow (ctx: Ctx, piId: string): void {
  const pi = ctx.store.get('payment_intents', piId)
  if (pi?.status !== 'processing') return
  const pm = ctx.store.get('payment_methods', pi.payment_method)
  const instrument = pm && instrumentOf(ctx, pm)
  const ok = !(instrument?.kind === 'sepa_debit' && instrument.fails)
  const session = ctx.store.get('checkout_sessions', ctx.store.internal(pi.id).session ?? '')
  if (session) settleCheckout(ctx, session, ok)
  else afterIntent(ctx, pi, settleProcessing(ctx, pi, ok))
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
