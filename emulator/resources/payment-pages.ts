import { completeCheckout } from '../billing/checkout.js'
import { resolvePaymentMethod, declineError } from '../billing/payment-methods.js'
import { badRequest, paramMissing } from '../wire/errors.js'
import { toInt } from '../wire/form.js'
import { P } from '../http/params.js'
import { getSession } from './checkout-sessions.js'
import type { Route } from '../http/route.js'

// The API Stripe's hosted Checkout page itself calls; `stripe trigger checkout.session.*` drives a
// session to completion through it.
export const paymentPageRoutes: Route[] = [
  { method: 'GET', path: '/v1/payment_pages/:id', params: {}, handler: (ctx, req) => getSession(ctx, req.params.id) },
  {
    method: 'POST',
    path: '/v1/payment_pages/:id/confirm',
    params: { payment_method: P.str, expected_amount: P.int, expected_payment_method_type: P.str },
    handler: (ctx, req) => {
      const session = getSession(ctx, req.params.id)
      if (!req.body.payment_method) throw paramMissing('payment_method')
      const expected = toInt(req.body.expected_amount)
      if (expected !== undefined && expected !== (session.amount_total ?? 0)) {
        throw badRequest(`The expected_amount (${expected}) does not match the amount of this Checkout Session (${session.amount_total ?? 0}).`, 'expected_amount')
      }
      const result = completeCheckout(ctx, session, resolvePaymentMethod(ctx, String(req.body.payment_method)))
      if (result.decline) throw declineError(result.decline as never)
      return result.session
    }
  }
]
