import { newId, randomToken } from '../ids.js'
import { fromTemplate } from '../templates.js'
import { captureCharge, createCharge, settleCharge } from './charges.js'
import { instrumentOf } from './payment-methods.js'
import type { ChargeBehaviour, Decline } from './cards.js'
import type { RequestInfo } from '../events.js'
import type { Ctx } from '../context.js'
import type { Obj } from '../store.js'

export type IntentOutcome = 'succeeded' | 'requires_payment_method' | 'requires_action' | 'processing' | 'requires_capture'

/** What a PaymentIntent pays: an invoice, a Checkout Session, or nothing Stripe tracks (a direct payment). */
export interface IntentPurpose {
  invoice?: string
  checkout?: string
}

const GENERIC: Decline = { code: 'card_declined', decline_code: 'generic_decline', message: 'Your card was declined.' }
const AUTH_FAILED: Decline = {
  code: 'payment_intent_authentication_failure',
  message: 'The provided PaymentMethod has failed authentication. You can provide payment_method_data or a new PaymentMethod to attempt to fulfill this PaymentIntent again.'
}
const OFF_SESSION_AUTH: Decline = {
  code: 'authentication_required',
  decline_code: 'authentication_required',
  message: 'Your card was declined. This transaction requires authentication.'
}

export function purposeOf (ctx: Ctx, pi: Obj): IntentPurpose {
  return ctx.store.internal(pi.id).purpose ?? {}
}

/** What PaymentIntents and SetupIntents share when they are made. */
export function intentFields (ctx: Ctx, id: string, input: Obj): Obj {
  return {
    client_secret: `${id}_secret_${randomToken(25)}`,
    created: ctx.now(input.customer),
    customer: input.customer ?? null,
    description: input.description ?? null,
    id,
    metadata: { ...(input.metadata ?? {}) },
    payment_method: input.payment_method ?? null,
    payment_method_types: input.payment_method_types ?? ['card'],
    status: input.payment_method ? 'requires_confirmation' : 'requires_payment_method'
  }
}

export function createPaymentIntent (ctx: Ctx, input: Obj, purpose: IntentPurpose = {}, request?: RequestInfo): Obj {
  const id = newId('pi')
  const pi = fromTemplate(ctx.templates, 'paymentIntent', {
    ...intentFields(ctx, id, input),
    amount: input.amount,
    automatic_payment_methods: input.automatic_payment_methods ?? null,
    capture_method: input.capture_method ?? 'automatic',
    confirmation_method: input.confirmation_method ?? 'automatic',
    currency: input.currency,
    receipt_email: input.receipt_email ?? null,
    setup_future_usage: input.setup_future_usage ?? null,
    shipping: input.shipping ?? null
  })
  ctx.store.put('payment_intents', pi)
  ctx.store.internal(id).purpose = purpose
  ctx.emit('payment_intent.created', pi, { request })
  return pi
}

function failed (ctx: Ctx, pi: Obj, pm: Obj, decline: Decline, charge: Obj | null, request?: RequestInfo): IntentOutcome {
  pi.status = 'requires_payment_method'
  pi.next_action = null
  pi.last_payment_error = {
    ...(charge && { charge: charge.id }),
    code: decline.code,
    ...(decline.decline_code && { decline_code: decline.decline_code }),
    doc_url: `https://stripe.com/docs/error-codes/${decline.code.replace(/_/g, '-')}`,
    message: decline.message,
    payment_method: structuredClone(pm),
    type: 'card_error'
  }
  ctx.emit('payment_intent.payment_failed', pi, { request })
  return 'requires_payment_method'
}

function succeeded (ctx: Ctx, pi: Obj, pm: Obj, request?: RequestInfo): IntentOutcome {
  const charge = createCharge(ctx, pi, pm, 'succeeded')
  if (pi.capture_method === 'manual') {
    Object.assign(pi, { status: 'requires_capture', amount_capturable: pi.amount, latest_charge: charge.id, next_action: null, last_payment_error: null })
    ctx.emit('payment_intent.amount_capturable_updated', pi, { request })
    return 'requires_capture'
  }
  Object.assign(pi, { status: 'succeeded', amount_received: pi.amount, latest_charge: charge.id, next_action: null, last_payment_error: null })
  ctx.emit('payment_intent.succeeded', pi, { request })
  return 'succeeded'
}

export interface ConfirmOptions {
  request?: RequestInfo
  /** The customer is not there to authenticate (a PaymentIntent confirmed with `off_session`). */
  offSession?: boolean
  /** The payment is the one the customer just made on a checkout page: the fail-payments flag does not apply. */
  customerPresent?: boolean
}

/** What confirming with `pm` does, without doing it: creation with error_if_incomplete decides on it up front. */
export function predictCharge (ctx: Ctx, pm: Obj, customerId: string | null, opts: ConfirmOptions = {}): ChargeBehaviour | 'processing' {
  if (customerId && !opts.customerPresent && ctx.store.failingCustomers.has(customerId)) return GENERIC
  const instrument = instrumentOf(ctx, pm)
  if (instrument?.kind === 'sepa_debit') return 'processing'
  const behaviour = instrument?.card.charge ?? 'succeeds'
  if (behaviour === 'authenticates' && opts.offSession) return OFF_SESSION_AUTH
  // The customer has just passed the card's 3-D Secure challenge on the page that pays.
  if (behaviour === 'authenticates' && opts.customerPresent && ctx.store.internal(pm.id).authenticated) return 'succeeds'
  return behaviour
}

/** Confirms a PaymentIntent with a payment method: a charge, the intent's new status, and their events. */
export function confirmPaymentIntent (ctx: Ctx, pi: Obj, pm: Obj, opts: ConfirmOptions = {}): IntentOutcome {
  pi.payment_method = pm.id
  pi.last_payment_error = null
  const behaviour = predictCharge(ctx, pm, pi.customer, opts)
  if (behaviour === 'processing') {
    pi.status = 'processing'
    pi.latest_charge = createCharge(ctx, pi, pm, 'pending').id
    ctx.emit('payment_intent.processing', pi, { request: opts.request })
    // Settled by its test IBAN shortly after, unless a test settles it (/_emulator/checkout/:id/async).
    if (!ctx.store.internal(pm.id).manualSettle) ctx.background.later('settle', pi.id, ctx.settings.asyncSettleMs)
    return 'processing'
  }
  if (behaviour === 'authenticates' && !ctx.store.internal(pi.id).authenticated) {
    pi.status = 'requires_action'
    pi.next_action = {
      type: 'use_stripe_sdk',
      use_stripe_sdk: { type: 'three_d_secure_redirect', stripe_js: `${ctx.baseUrl()}/authenticate/${pi.id}`, source: `src_${randomToken(24)}` }
    }
    ctx.emit('payment_intent.requires_action', pi, { request: opts.request })
    return 'requires_action'
  }
  if (typeof behaviour === 'object') {
    const charge = createCharge(ctx, pi, pm, 'failed', behaviour)
    pi.latest_charge = charge.id
    return failed(ctx, pi, pm, behaviour, charge, opts.request)
  }
  return succeeded(ctx, pi, pm, opts.request)
}

/** The customer completes (or fails) the 3-D Secure challenge of a PaymentIntent in `requires_action`. */
export function authenticate (ctx: Ctx, pi: Obj, ok: boolean, request?: RequestInfo): IntentOutcome {
  const pm = ctx.store.get('payment_methods', pi.payment_method)!
  if (!ok) return failed(ctx, pi, pm, AUTH_FAILED, null, request)
  ctx.store.internal(pi.id).authenticated = true
  return confirmPaymentIntent(ctx, pi, pm, { request, customerPresent: true })
}

/** A bank debit in `processing` settles. */
export function settleProcessing (ctx: Ctx, pi: Obj, ok: boolean, request?: RequestInfo): IntentOutcome {
  const pm = ctx.store.get('payment_methods', pi.payment_method)!
  const charge = ctx.store.get('charges', pi.latest_charge)
  const decline: Decline = { code: 'payment_method_provider_decline', message: 'The payment was declined by the bank.' }
  if (charge) settleCharge(ctx, charge, ok ? undefined : decline)
  if (!ok) return failed(ctx, pi, pm, decline, charge ?? null, request)
  Object.assign(pi, { status: 'succeeded', amount_received: pi.amount })
  ctx.emit('payment_intent.succeeded', pi, { request })
  return 'succeeded'
}

export function cancelPaymentIntent (ctx: Ctx, pi: Obj, reason: string | null, request?: RequestInfo): Obj {
  Object.assign(pi, { status: 'canceled', canceled_at: ctx.now(pi), cancellation_reason: reason, next_action: null })
  ctx.emit('payment_intent.canceled', pi, { request })
  return pi
}

/** Captures a PaymentIntent in `requires_capture` (all of it, or `amount`). */
export function capturePaymentIntent (ctx: Ctx, pi: Obj, amount: number, request?: RequestInfo): Obj {
  const charge = ctx.store.get('charges', pi.latest_charge)
  if (charge) captureCharge(ctx, charge, amount)
  Object.assign(pi, { status: 'succeeded', amount_received: amount, amount_capturable: 0 })
  ctx.emit('payment_intent.succeeded', pi, { request })
  return pi
}
