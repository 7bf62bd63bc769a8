import { newId } from '../ids.js'
import { fromTemplate } from '../templates.js'
import { NO_REQUEST, type RequestInfo } from '../events.js'
import { lineForInvoiceItem, lineForItem } from './invoice-lines.js'
import { isMetered } from './pricing.js'
import { meteredQuantity } from './metering.js'
import { applyTotals } from './totals.js'
import { cancelPaymentIntent, createPaymentIntent } from './intents.js'
import { discountsAt, discountTerms, spendOnceDiscounts } from './discounts.js'
import type { Ctx } from '../context.js'
import type { Obj } from '../store.js'

export const subscriptionIdOf = (invoice: Obj): string | undefined => invoice.parent?.subscription_details?.subscription

/** Pending invoice items of a subscription (prorations), swept into its next invoice. */
export function pendingItemsOf (ctx: Ctx, subId: string): Obj[] {
  return ctx.store.ofSubscription('invoiceitems', subId).filter((ii) => ii.invoice === null)
}

/** The period whose metered usage an invoice bills; a final invoice counts events up to and including its `end`. */
export interface UsageWindow {
  start: number
  end: number
  inclusive?: boolean
}

export interface InvoiceInput {
  customer: Obj
  sub?: Obj
  billingReason: string
  periodStart: number
  periodEnd: number
  /**
   * Lines of the subscription's items: for the period given, or `trial` lines at no charge; metered
   * items bill what their meters counted over `usage`, the period that just ended.
   */
  items?: { period: { start: number, end: number }, trial?: boolean, usage?: UsageWindow, usageOnly?: boolean }
  /** Pending invoice items to take: a subscription's, or (for a one-off invoice) the customer's own. */
  pending: Obj[]
  fields?: Obj
}

function itemLine (ctx: Ctx, sub: Obj, item: Obj, items: NonNullable<InvoiceInput['items']>): Obj {
  const window = items.usage
  const usage = window && isMetered(item.price)
    ? { quantity: meteredQuantity(ctx, sub, item, { start: window.start, end: window.inclusive ? window.end + 1 : window.end }), period: { start: window.start, end: window.end } }
    : undefined
  return lineForItem(ctx, sub, item, items.period, items.trial, usage)
}

/** Builds a draft invoice; callers emit `invoice.created` where Stripe would in their flow. */
export function createInvoice (ctx: Ctx, input: InvoiceInput): Obj {
  const { customer, sub } = input
  const now = ctx.now(customer)
  const id = newId('in')
  const billed: Obj[] = sub && input.items ? sub.items.data.filter((item: Obj) => !input.items!.usageOnly || isMetered(item.price)) : []
  const itemLines = billed.map((item) => itemLine(ctx, sub!, item, input.items!))
  const lines = [...input.pending.map((ii) => lineForInvoiceItem(ctx, ii)), ...itemLines].map((l) => ({ ...l, invoice: id }))
  for (const ii of input.pending) ii.invoice = id
  const invoice = fromTemplate(ctx.templates, 'invoice', {
    amount_paid: 0,
    attempt_count: 0,
    attempted: false,
    auto_advance: Boolean(sub),
    billing_reason: input.billingReason,
    collection_method: sub?.collection_method ?? 'charge_automatically',
    created: now,
    currency: sub?.currency ?? input.pending[0]?.currency ?? 'usd',
    customer: customer.id,
    customer_address: customer.address,
    customer_email: customer.email,
    customer_name: customer.name,
    customer_phone: customer.phone,
    default_payment_method: null,
    description: null,
    // A subscription's discounts, else its customer's (a one-off invoice takes the customer's).
    discounts: discountsAt(ctx, customer, sub, now).map((d) => d.id),
    effective_at: null,
    ending_balance: null,
    hosted_invoice_url: `${ctx.baseUrl()}/invoice/${id}`,
    id,
    invoice_pdf: `${ctx.baseUrl()}/invoice/${id}/pdf`,
    lines: { object: 'list', data: lines, has_more: false, url: `/v1/invoices/${id}/lines` },
    metadata: {},
    next_payment_attempt: null,
    number: null,
    parent: sub
      ? { quote_details: null, subscription_details: { metadata: { ...sub.metadata }, subscription: sub.id }, type: 'subscription_details' }
      : null,
    period_end: input.periodEnd,
    period_start: input.periodStart,
    status: 'draft',
    status_transitions: { finalized_at: null, marked_uncollectible_at: null, paid_at: null, voided_at: null },
    test_clock: customer.test_clock ?? null,
    total_discount_amounts: [],
    webhooks_delivered_at: null,
    ...input.fields
  })
  applyTotals(invoice, discountTerms(ctx))
  ctx.store.put('invoices', invoice)
  if (sub) sub.latest_invoice = id
  return invoice
}

export function paymentIntentOf (ctx: Ctx, invoice: Obj): Obj | undefined {
  const payment = ctx.store.get('invoice_payments', ctx.store.internal(invoice.id).payment)
  return payment && ctx.store.get('payment_intents', payment.payment.payment_intent)
}

export function invoicePaymentOf (ctx: Ctx, invoice: Obj): Obj | undefined {
  return ctx.store.get('invoice_payments', ctx.store.internal(invoice.id).payment)
}

const INTENT_DESCRIPTIONS: Record<string, string> = {
  subscription_create: 'Subscription creation',
  subscription_cycle: 'Subscription update',
  subscription_update: 'Subscription update'
}

/** Stripe opens a PaymentIntent when it finalizes an invoice it will charge. */
function openPayment (ctx: Ctx, invoice: Obj, request: RequestInfo): void {
  const pi = createPaymentIntent(ctx, {
    amount: invoice.amount_remaining,
    currency: invoice.currency,
    customer: invoice.customer,
    description: INTENT_DESCRIPTIONS[invoice.billing_reason] ?? `Invoice ${invoice.number}`
  }, { invoice: invoice.id }, request)
  const payment = {
    id: newId('inpay'),
    object: 'invoice_payment',
    amount_paid: null,
    amount_requested: invoice.amount_remaining,
    created: pi.created,
    currency: invoice.currency,
    invoice: invoice.id,
    is_default: true,
    livemode: false,
    payment: { payment_intent: pi.id, type: 'payment_intent' },
    status: 'open',
    status_transitions: { canceled_at: null, paid_at: null }
  }
  ctx.store.put('invoice_payments', payment)
  ctx.store.internal(invoice.id).payment = payment.id
}

export function finalizeInvoice (ctx: Ctx, invoice: Obj, request: RequestInfo = NO_REQUEST): void {
  const customer = ctx.store.get('customers', invoice.customer)!
  const now = ctx.now(invoice)
  invoice.status = 'open'
  invoice.number = `${customer.invoice_prefix}-${String(customer.next_invoice_sequence).padStart(4, '0')}`
  customer.next_invoice_sequence += 1
  invoice.effective_at = now
  invoice.status_transitions.finalized_at = now
  invoice.webhooks_delivered_at = now
  if (invoice.collection_method === 'send_invoice' && !invoice.due_date) invoice.due_date = now + 30 * 86_400
  ctx.emit('invoice.finalized', invoice, { request })
  spendOnceDiscounts(ctx, invoice, customer, ctx.store.get('subscriptions', subscriptionIdOf(invoice) ?? ''), request)
  if (invoice.collection_method === 'charge_automatically' && invoice.amount_remaining > 0) openPayment(ctx, invoice, request)
}

export function markPaid (ctx: Ctx, invoice: Obj, request: RequestInfo = NO_REQUEST, outOfBand = false): void {
  const now = ctx.now(invoice)
  Object.assign(invoice, {
    status: 'paid',
    amount_paid: invoice.amount_paid + invoice.amount_remaining,
    amount_remaining: 0,
    ending_balance: 0,
    next_payment_attempt: null,
    auto_advance: false
  })
  invoice.status_transitions.paid_at = now
  ctx.emit('invoice.paid', invoice, { request })
  if (!outOfBand) ctx.emit('invoice.payment_succeeded', invoice, { request })
  const payment = invoicePaymentOf(ctx, invoice)
  if (payment && !outOfBand) {
    Object.assign(payment, { status: 'paid', amount_paid: payment.amount_requested })
    payment.status_transitions.paid_at = now
    ctx.emit('invoice_payment.paid', payment, { request })
  }
}

function closePayment (ctx: Ctx, invoice: Obj, reason: string, request: RequestInfo): void {
  const pi = paymentIntentOf(ctx, invoice)
  if (pi && !['succeeded', 'canceled'].includes(pi.status)) cancelPaymentIntent(ctx, pi, reason, request)
  const payment = invoicePaymentOf(ctx, invoice)
  if (payment && payment.status === 'open') {
    payment.status = 'canceled'
    payment.status_transitions.canceled_at = ctx.now(invoice)
  }
}

export function voidInvoice (ctx: Ctx, invoice: Obj, request: RequestInfo = NO_REQUEST): Obj {
  Object.assign(invoice, { status: 'void', next_payment_attempt: null, auto_advance: false, amount_remaining: 0 })
  invoice.status_transitions.voided_at = ctx.now(invoice)
  closePayment(ctx, invoice, 'void_invoice', request)
  ctx.emit('invoice.voided', invoice, { request })
  return invoice
}

export function markUncollectible (ctx: Ctx, invoice: Obj, request: RequestInfo = NO_REQUEST): Obj {
  Object.assign(invoice, { status: 'uncollectible', next_payment_attempt: null, auto_advance: false })
  invoice.status_transitions.marked_uncollectible_at = ctx.now(invoice)
  ctx.emit('invoice.marked_uncollectible', invoice, { request })
  return invoice
}
