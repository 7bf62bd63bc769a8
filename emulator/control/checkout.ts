import { collectsPaymentMethod, completeCheckout, enterPromotionCode, pageMethod, type CheckoutOutcome } from '../billing/checkout.js'
import { settleCheckout } from '../billing/checkout-async.js'
import { cardPaymentMethod } from '../billing/payment-methods.js'
import { cardByToken } from '../billing/cards.js'
import { badRequest, missing } from '../wire/errors.js'
import type { Ctx } from '../context.js'
import type { Obj } from '../store.js'

const OUTCOMES = ['paid', 'declined', 'processing']

function sessionOf (ctx: Ctx, id: string): Obj {
  const session = ctx.store.get('checkout_sessions', id)
  if (!session) throw missing('checkout.session', id)
  return session
}

/**
 * `POST /_emulator/checkout/:id/complete`: what the customer does on the page. `paid` pays with a test
 * card (or, with nothing due today and `payment_method_collection=if_required`, saves none);
 * `declined` leaves the session open, as Stripe's page does; `processing` pays by bank debit, which
 * stays processing until `/_emulator/checkout/:id/async` settles it. `promotion_code` is a code the
 * customer types first (with `allow_promotion_codes`).
 */
export function completeFromControl (ctx: Ctx, id: string, body: Obj): Obj {
  const session = sessionOf(ctx, id)
  const outcome = (body.outcome ?? 'paid') as CheckoutOutcome
  if (!OUTCOMES.includes(outcome)) throw badRequest('outcome must be "paid", "declined" or "processing"', 'outcome')
  if (body.promotion_code !== undefined) enterPromotionCode(ctx, session, String(body.promotion_code))
  const needsMethod = collectsPaymentMethod(ctx, session)
  const pm = outcome === 'declined'
    ? cardPaymentMethod(ctx, cardByToken('pm_card_chargeDeclined')!)
    : needsMethod || outcome === 'processing' ? pageMethod(ctx, outcome, session.customer_email) : null
  // The debit stays processing until the test settles it through /_emulator/checkout/:id/async.
  if (pm && outcome === 'processing') ctx.store.internal(pm.id).manualSettle = true
  return completeCheckout(ctx, session, pm).session
}

/** `POST /_emulator/checkout/:id/async`: the bank debit of a completed session settles. */
export function settleFromControl (ctx: Ctx, id: string, body: Obj): Obj {
  if (body.outcome !== 'succeeded' && body.outcome !== 'failed') throw badRequest('outcome must be "succeeded" or "failed"', 'outcome')
  return settleCheckout(ctx, sessionOf(ctx, id), body.outcome === 'succeeded')
}
