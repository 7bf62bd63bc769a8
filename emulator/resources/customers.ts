import { newId, randomToken } from '../ids.js'
import { fromTemplate } from '../templates.js'
import { updateAndEmit, type RequestInfo } from '../events.js'
import { endSubscription } from '../billing/subscription-status.js'
import { attachedPaymentMethod, attachPaymentMethod, cardPaymentMethod, checkAttachable, declineError, resolvePaymentMethod } from '../billing/payment-methods.js'
import { createDiscount, redeemCoupon, redeemPromotionCode, setCustomerDiscount, type Redemption } from '../billing/discounts.js'
import { cardByToken, type TestCard } from '../billing/cards.js'
import { badRequest, missing } from '../wire/errors.js'
import { mergeMetadata, nullable, type Params } from '../wire/form.js'
import { listEnvelope, matchesRange } from '../http/list.js'
import { LIST_PARAMS, P } from '../http/params.js'
import type { Ctx } from '../context.js'
import type { Route } from '../http/route.js'
import type { Collection, Obj } from '../store.js'

function addressOf (patch: Params | '' | undefined, current: Obj | null): Obj | null {
  if (patch === undefined) return current
  if (patch === '') return null
  const base = current ?? { city: null, country: null, line1: null, line2: null, postal_code: null, state: null }
  const next = { ...base }
  for (const [k, v] of Object.entries(patch)) next[k] = nullable(v) ?? null
  return next
}

/**
 * The discount `coupon` / `promotion_code` ask a customer to have (null: none, undefined: unchanged).
 * Both parameters are older versions' (the CLI's fixtures send them); discounts live on subscriptions now.
 */
function customerRedemption (ctx: Ctx, p: Params, customerId: string | null, at: number): Redemption | null | undefined {
  if (p.coupon !== undefined && p.promotion_code !== undefined) throw badRequest('You may only specify one of these parameters: coupon, promotion_code.', 'coupon')
  const rc = { customerId, at }
  if (p.coupon !== undefined) return p.coupon === '' ? null : redeemCoupon(ctx, String(p.coupon), 'coupon', rc)
  if (p.promotion_code !== undefined) return p.promotion_code === '' ? null : redeemPromotionCode(ctx, String(p.promotion_code), 'promotion_code', rc)
  return undefined
}

/** The test card a `source` token names; one that declines is refused before anything is made, as attaching it would be. */
function sourceCard (token: string): TestCard {
  const card = cardByToken(token)
  if (!card) throw missing('token', token, 'source')
  if (typeof card.setup === 'object') throw declineError(card.setup)
  return card
}

/** `source: tok_…`, the legacy way to give a customer a card: it becomes an attached card and the `default_source`. */
function addSource (ctx: Ctx, customer: Obj, card: TestCard, request?: RequestInfo): void {
  customer.default_source = attachPaymentMethod(ctx, cardPaymentMethod(ctx, card), customer, request).id
}

export function createCustomer (ctx: Ctx, p: Params, request?: RequestInfo): Obj {
  const clock = p.test_clock ? ctx.store.get('test_clocks', String(p.test_clock)) : null
  if (p.test_clock && !clock) throw missing('test_helpers.test_clock', String(p.test_clock), 'test_clock')
  const created = clock ? clock.frozen_time : ctx.now()
  const redemption = customerRedemption(ctx, p, null, created)
  const source = p.source ? sourceCard(String(p.source)) : undefined
  const customer = fromTemplate(ctx.templates, 'customer', {
    id: newId('cus'),
    created,
    description: nullable(p.description) ?? null,
    email: nullable(p.email) ?? null,
    invoice_prefix: randomToken(8).toUpperCase().replace(/[^0-9A-F]/g, 'A').slice(0, 7),
    metadata: mergeMetadata({}, p.metadata),
    name: nullable(p.name) ?? null,
    next_invoice_sequence: 1,
    phone: nullable(p.phone) ?? null,
    address: addressOf(p.address, null),
    test_clock: clock?.id ?? null
  })
  // `payment_method` is attached, and may be named again (the same test token) as the default.
  const pm = p.payment_method ? checkAttachable(ctx, resolvePaymentMethod(ctx, String(p.payment_method))) : undefined
  const chosen = p.invoice_settings?.default_payment_method
  if (chosen) {
    customer.invoice_settings.default_payment_method = chosen === p.payment_method
      ? pm!.id
      : attachedPaymentMethod(ctx, String(chosen), customer.id, 'invoice_settings[default_payment_method]').id
  }
  if (redemption) customer.discount = createDiscount(ctx, redemption, { customer: customer.id, start: created })
  ctx.store.put('customers', customer)
  ctx.emit('customer.created', customer, { request })
  if (customer.discount) ctx.emit('customer.discount.created', customer.discount, { request })
  if (pm) attachPaymentMethod(ctx, pm, customer, request)
  if (source) addSource(ctx, customer, source, request)
  return customer
}

function updateInvoiceSettings (ctx: Ctx, customer: Obj, patch: Params | '' | undefined): void {
  if (patch === undefined) return
  if (patch === '') {
    customer.invoice_settings.default_payment_method = null
    return
  }
  if (patch.default_payment_method !== undefined) {
    customer.invoice_settings.default_payment_method = patch.default_payment_method === ''
      ? null
      : attachedPaymentMethod(ctx, String(patch.default_payment_method), customer.id, 'invoice_settings[default_payment_method]').id
  }
  if (patch.footer !== undefined) customer.invoice_settings.footer = nullable(patch.footer)
}

export function getCustomer (ctx: Ctx, id: string, param = 'id'): Obj {
  const customer = ctx.store.get('customers', id)
  if (!customer || customer.deleted) throw missing('customer', id, param)
  return customer
}

// Objects that belong to a customer; a deleted test clock takes all of them with it.
const OWNED: Collection[] = ['subscriptions', 'subscription_schedules', 'discounts', 'invoices', 'invoiceitems', 'checkout_sessions', 'portal_sessions', 'payment_methods', 'payment_intents', 'setup_intents', 'charges']

/**
 * Deletes a customer as Stripe does: live subscriptions end now (`customer.subscription.deleted`),
 * then `customer.deleted`; the id keeps answering with `deleted: true`. `purge` also removes everything
 * the customer owned, as deleting its test clock does.
 */
export function deleteCustomer (ctx: Ctx, customer: Obj, opts: { purge?: boolean, request?: RequestInfo } = {}): Obj {
  for (const sub of ctx.store.collections.subscriptions.values()) {
    if (sub.customer === customer.id && !['canceled', 'incomplete_expired'].includes(sub.status)) {
      endSubscription(ctx, sub, 'cancellation_requested', opts.request)
    }
  }
  ctx.emit('customer.deleted', customer, { request: opts.request })
  if (opts.purge) for (const collection of OWNED) ctx.store.deleteWhere(collection, (o) => o.customer === customer.id)
  ctx.store.delete('customers', customer.id)
  ctx.store.failingCustomers.delete(customer.id)
  const tombstone = { id: customer.id, object: 'customer', deleted: true }
  ctx.store.tombstones.set(customer.id, tombstone)
  return tombstone
}

const ADDRESS = P.obj({ city: P.str, country: P.str, line1: P.str, line2: P.str, postal_code: P.str, state: P.str })

const CUSTOMER_PARAMS = {
  address: ADDRESS,
  coupon: P.str,
  promotion_code: P.str,
  source: P.str,
  description: P.str,
  email: P.str,
  invoice_settings: P.obj({ default_payment_method: P.str, footer: P.str }),
  metadata: P.map,
  name: P.str,
  phone: P.str
}

export const customerRoutes: Route[] = [
  {
    method: 'POST',
    path: '/v1/customers',
    params: { ...CUSTOMER_PARAMS, payment_method: P.str, test_clock: P.str },
    handler: (ctx, req) => createCustomer(ctx, req.body, req.request)
  },
  {
    method: 'GET',
    path: '/v1/customers/:id',
    params: {},
    handler: (ctx, req) => ctx.store.tombstones.get(req.params.id) ?? getCustomer(ctx, req.params.id)
  },
  {
    method: 'POST',
    path: '/v1/customers/:id',
    params: CUSTOMER_PARAMS,
    handler: (ctx, req) => {
      const p = req.body
      const customer = getCustomer(ctx, req.params.id)
      const redemption = customerRedemption(ctx, p, customer.id, ctx.now(customer))
      const source = p.source ? sourceCard(String(p.source)) : undefined
      return updateAndEmit(ctx, 'customer.updated', customer, (c) => {
        if (redemption !== undefined) setCustomerDiscount(ctx, c, redemption, req.request)
        if (source) addSource(ctx, c, source, req.request)
        for (const field of ['email', 'name', 'description', 'phone'] as const) {
          if (p[field] !== undefined) c[field] = nullable(p[field])
        }
        c.metadata = mergeMetadata(c.metadata, p.metadata)
        if (p.address !== undefined) c.address = addressOf(p.address, c.address)
        updateInvoiceSettings(ctx, c, p.invoice_settings)
      }, req.request)
    }
  },
  {
    method: 'DELETE',
    path: '/v1/customers/:id',
    params: {},
    handler: (ctx, req) => deleteCustomer(ctx, getCustomer(ctx, req.params.id), { request: req.request })
  },
  {
    method: 'GET',
    path: '/v1/customers',
    params: { ...LIST_PARAMS, email: P.str, created: P.range, test_clock: P.str },
    handler: (ctx, req) => {
      const { email, test_clock: clock, created } = req.body
      const items = ctx.store.newestFirst('customers').filter(
        (c) => (!email || c.email === email) && (!clock || c.test_clock === clock) && matchesRange(c.created, created)
      )
      return listEnvelope(items, req.body, '/v1/customers', 'customer')
    }
  }
]
