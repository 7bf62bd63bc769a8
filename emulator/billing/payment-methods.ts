import { createHash } from 'node:crypto'
import { newId } from '../ids.js'
import { fromTemplate } from '../templates.js'
import { badRequest, cardError, missing } from '../wire/errors.js'
import { cardByNumber, cardByToken, isTestToken, SEPA_FAILS, type Decline, type TestCard } from './cards.js'
import type { RequestInfo } from '../events.js'
import type { Ctx } from '../context.js'
import type { Obj } from '../store.js'

/** How a payment method behaves when charged: a test card, or a bank debit that settles later. */
export type Instrument = { kind: 'card', card: TestCard } | { kind: 'sepa_debit', fails: boolean }

const fingerprint = (s: string) => createHash('sha256').update(s).digest('base64url').slice(0, 16)

export function instrumentOf (ctx: Ctx, pm: Obj): Instrument | undefined {
  return ctx.store.internal(pm.id).instrument
}

function store (ctx: Ctx, pm: Obj, instrument: Instrument): Obj {
  ctx.store.put('payment_methods', pm)
  ctx.store.internal(pm.id).instrument = instrument
  return pm
}

export function cardPaymentMethod (ctx: Ctx, card: TestCard, extra: Obj = {}): Obj {
  const template = ctx.templates.paymentMethod
  const now = ctx.now()
  const pm = fromTemplate(ctx.templates, 'paymentMethod', {
    id: newId('pm'),
    created: now,
    card: {
      ...structuredClone(template.card),
      brand: card.brand,
      country: card.country,
      display_brand: card.brand,
      exp_month: 12,
      exp_year: new Date(now * 1000).getUTCFullYear() + 4,
      fingerprint: fingerprint(card.number),
      funding: card.funding,
      last4: card.number.slice(-4),
      networks: { available: [card.brand], preferred: null }
    },
    type: 'card',
    ...extra
  })
  return store(ctx, pm, { kind: 'card', card })
}

export function sepaPaymentMethod (ctx: Ctx, iban: string, extra: Obj = {}): Obj {
  const clean = iban.replace(/\s/g, '').toUpperCase()
  const { card: _card, ...rest } = structuredClone(ctx.templates.paymentMethod)
  const pm = {
    ...rest,
    id: newId('pm'),
    created: ctx.now(),
    sepa_debit: {
      bank_code: clean.slice(4, 9),
      branch_code: '',
      country: clean.slice(0, 2),
      fingerprint: fingerprint(clean),
      generated_from: { charge: null, setup_attempt: null },
      last4: clean.slice(-4)
    },
    type: 'sepa_debit',
    ...extra
  }
  return store(ctx, pm, { kind: 'sepa_debit', fails: SEPA_FAILS.has(clean) })
}

/** A card from a test token or a test card number; anything else is refused as Stripe refuses it. */
export function cardFrom (ref: { token?: string, number?: string }, param: string): TestCard {
  const card = ref.token ? cardByToken(ref.token) : ref.number ? cardByNumber(ref.number) : undefined
  if (card) return card
  if (ref.token) throw missing('token', ref.token, param)
  throw cardError('incorrect_number', 'Your card number is incorrect.', {}, `${param}[number]`)
}

/**
 * The PaymentMethod an id names. A test token (`pm_card_visa`) makes a new PaymentMethod each time,
 * as Stripe does, not attached to anyone.
 */
export function resolvePaymentMethod (ctx: Ctx, id: string, param = 'payment_method'): Obj {
  if (isTestToken(id)) {
    const card = cardByToken(id)
    if (!card) throw missing('PaymentMethod', id, param)
    return cardPaymentMethod(ctx, card)
  }
  const pm = ctx.store.get('payment_methods', id)
  if (!pm) throw missing('PaymentMethod', id, param)
  return pm
}

/** The id, or the payment method it names, must be attached to the customer (Stripe's rule for defaults). */
export function attachedPaymentMethod (ctx: Ctx, id: string, customerId: string, param: string): Obj {
  const pm = resolvePaymentMethod(ctx, id, param)
  if (pm.customer !== customerId) {
    throw badRequest(`The customer does not have a payment method with the ID ${id}. The payment method must be attached to the customer.`, param, 'resource_missing')
  }
  return pm
}

export function declineError (decline: Decline, extra: Obj = {}): Error {
  return cardError(decline.code, decline.message, { ...(decline.decline_code && { decline_code: decline.decline_code }), ...extra })
}

/** Attaching checks the card the way Stripe does: a card that declines is refused with a 402. */
export function checkAttachable (ctx: Ctx, pm: Obj): Obj {
  if (pm.customer) throw badRequest('The payment method you provided has already been attached to a customer.', 'payment_method', 'payment_method_unexpected_state')
  const instrument = instrumentOf(ctx, pm)
  if (instrument?.kind === 'card' && typeof instrument.card.setup === 'object') throw declineError(instrument.card.setup)
  return pm
}

export function attachPaymentMethod (ctx: Ctx, pm: Obj, customer: Obj, request?: RequestInfo): Obj {
  if (pm.customer === customer.id) return pm
  checkAttachable(ctx, pm)
  pm.customer = customer.id
  ctx.emit('payment_method.attached', pm, { request })
  return pm
}

export function detachPaymentMethod (ctx: Ctx, pm: Obj, request?: RequestInfo): Obj {
  if (!pm.customer) throw badRequest('The payment method you provided is not attached to a customer so detachment is impossible.', 'payment_method', 'payment_method_unexpected_state')
  const customer = ctx.store.get('customers', pm.customer)
  const previous = { customer: pm.customer }
  if (customer && customer.default_source === pm.id) customer.default_source = null
  if (customer && customer.invoice_settings.default_payment_method === pm.id) {
    const before = structuredClone(customer.invoice_settings)
    customer.invoice_settings.default_payment_method = null
    ctx.emit('customer.updated', customer, { request, previous: { invoice_settings: before } })
  }
  pm.customer = null
  ctx.emit('payment_method.detached', pm, { request, previous })
  return pm
}

/**
 * Which payment method pays a subscription's invoice: the subscription's default, else the customer's
 * (`invoice_settings.default_payment_method`, then the legacy `default_source`).
 */
export function defaultPaymentMethod (ctx: Ctx, customerId: string, sub?: Obj | null): Obj | undefined {
  const customer = ctx.store.get('customers', customerId)
  const id = sub?.default_payment_method ?? customer?.invoice_settings?.default_payment_method ?? customer?.default_source
  const pm = id ? ctx.store.get('payment_methods', id) : undefined
  return pm?.customer === customerId ? pm : undefined
}
