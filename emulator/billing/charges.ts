import { newId, randomToken } from '../ids.js'
import { fromTemplate } from '../templates.js'
import type { Decline } from './cards.js'
import type { Ctx } from '../context.js'
import type { Obj } from '../store.js'

export type ChargeStatus = 'succeeded' | 'failed' | 'pending'

function methodDetails (ctx: Ctx, pm: Obj, amount: number): Obj {
  if (pm.type !== 'card') return { type: pm.type, [pm.type]: structuredClone(pm[pm.type]) }
  const template = structuredClone(ctx.templates.charge.payment_method_details.card)
  return {
    type: 'card',
    card: {
      ...template,
      amount_authorized: amount,
      brand: pm.card.brand,
      country: pm.card.country,
      exp_month: pm.card.exp_month,
      exp_year: pm.card.exp_year,
      fingerprint: pm.card.fingerprint,
      funding: pm.card.funding,
      last4: pm.card.last4,
      network: pm.card.brand,
      overcapture: { maximum_amount_capturable: amount, status: 'unavailable' }
    }
  }
}

/** One attempt to move money for a PaymentIntent, with Stripe's event for its outcome. */
export function createCharge (ctx: Ctx, pi: Obj, pm: Obj, status: ChargeStatus, decline?: Decline): Obj {
  const id = newId('ch')
  const paid = status === 'succeeded'
  // A manual-capture payment is authorized now and captured later.
  const captured = paid && pi.capture_method !== 'manual'
  const charge = fromTemplate(ctx.templates, 'charge', {
    amount: pi.amount,
    amount_captured: captured ? pi.amount : 0,
    balance_transaction: captured ? `txn_${randomToken(24)}` : null,
    billing_details: structuredClone(pm.billing_details),
    calculated_statement_descriptor: 'TOLLGATE EMULATOR',
    captured,
    created: ctx.now(pi),
    currency: pi.currency,
    customer: pi.customer,
    description: pi.description,
    failure_code: decline?.code ?? null,
    failure_message: decline?.message ?? null,
    id,
    metadata: { ...pi.metadata },
    outcome: {
      advice_code: null,
      network_advice_code: null,
      network_decline_code: null,
      network_status: decline ? 'declined_by_network' : 'approved_by_network',
      reason: decline?.decline_code ?? null,
      risk_level: 'normal',
      seller_message: decline ? 'The bank did not return any further details with this decline.' : 'Payment complete.',
      type: decline ? 'issuer_declined' : 'authorized'
    },
    paid,
    payment_intent: pi.id,
    payment_method: pm.id,
    payment_method_details: methodDetails(ctx, pm, pi.amount),
    receipt_email: null,
    receipt_url: paid ? `${ctx.baseUrl()}/receipts/${id}` : null,
    refunds: { data: [], has_more: false, object: 'list', url: `/v1/charges/${id}/refunds` },
    status
  })
  ctx.store.put('charges', charge)
  ctx.emit(`charge.${status}`, charge)
  return charge
}

/** A pending (bank debit) charge settles. */
export function settleCharge (ctx: Ctx, charge: Obj, decline?: Decline): void {
  charge.status = decline ? 'failed' : 'succeeded'
  charge.paid = !decline
  charge.captured = !decline
  charge.amount_captured = decline ? 0 : charge.amount
  charge.balance_transaction = decline ? null : `txn_${randomToken(24)}`
  charge.failure_code = decline?.code ?? null
  charge.failure_message = decline?.message ?? null
  ctx.emit(`charge.${charge.status}`, charge)
}

/** Captures an authorized charge (a PaymentIntent with capture_method=manual). */
export function captureCharge (ctx: Ctx, charge: Obj, amount: number): void {
  Object.assign(charge, { captured: true, amount_captured: amount, balance_transaction: `txn_${randomToken(24)}` })
  ctx.emit('charge.captured', charge)
}
