import { newId } from '../ids.js'
import { fromTemplate } from '../templates.js'
import { NO_REQUEST, type RequestInfo } from '../events.js'
import type { Ctx } from '../context.js'
import type { Obj } from '../store.js'

function money (amount: number, currency: string): string {
  return `${currency === 'usd' ? '$' : ''}${(amount / 100).toFixed(2)}${currency === 'usd' ? '' : ` ${currency.toUpperCase()}`}`
}

function productName (ctx: Ctx, productId: string): string {
  return ctx.store.get('products', productId)?.name ?? productId
}

export function lineForItem (ctx: Ctx, sub: Obj, item: Obj): Obj {
  const price = item.price
  const amount = price.unit_amount * item.quantity
  return fromTemplate(ctx.templates, 'invoiceLine', {
    amount,
    currency: price.currency,
    description: `${item.quantity} × ${productName(ctx, price.product)} (at ${money(price.unit_amount, price.currency)} / ${price.recurring?.interval ?? 'month'})`,
    discountable: true,
    id: newId('il'),
    metadata: {},
    parent: {
      invoice_item_details: null,
      subscription_item_details: {
        invoice_item: null,
        proration: false,
        proration_details: { credited_items: null },
        subscription: sub.id,
        subscription_item: item.id
      },
      type: 'subscription_item_details'
    },
    period: { start: item.current_period_start, end: item.current_period_end },
    pricing: { price_details: { price: price.id, product: price.product }, type: 'price_details', unit_amount_decimal: price.unit_amount_decimal },
    quantity: item.quantity,
    quantity_decimal: String(item.quantity),
    subscription: sub.id,
    subtotal: amount
  })
}

export function lineForInvoiceItem (ctx: Ctx, ii: Obj): Obj {
  const details = ii.parent.subscription_details
  return fromTemplate(ctx.templates, 'invoiceLine', {
    amount: ii.amount,
    currency: ii.currency,
    description: ii.description,
    discountable: ii.discountable,
    id: newId('il'),
    metadata: {},
    parent: {
      invoice_item_details: null,
      subscription_item_details: {
        invoice_item: ii.id,
        proration: ii.proration,
        proration_details: ii.proration_details,
        subscription: details.subscription,
        subscription_item: details.subscription_item
      },
      type: 'subscription_item_details'
    },
    period: { ...ii.period },
    pricing: structuredClone(ii.pricing),
    quantity: ii.quantity,
    quantity_decimal: String(ii.quantity),
    subscription: details.subscription,
    subtotal: ii.amount
  })
}

// Pending invoice items (prorations) of a subscription are swept into its next invoice.
export function takePendingItems (ctx: Ctx, subId: string): Obj[] {
  return ctx.store.ofSubscription('invoiceitems', subId).filter((ii) => ii.invoice === null)
}

export interface InvoiceInput {
  sub: Obj
  billingReason: string
  periodStart: number
  periodEnd: number
  withItems: boolean
}

// Builds a draft invoice; callers emit `invoice.created` where Stripe would in their flow.
export function createInvoice (ctx: Ctx, input: InvoiceInput): Obj {
  const { sub } = input
  const customer = ctx.store.get('customers', sub.customer)!
  const now = ctx.now(sub)
  const id = newId('in')
  const pending = takePendingItems(ctx, sub.id)
  const lines = [
    ...pending.map((ii) => lineForInvoiceItem(ctx, ii)),
    ...(input.withItems ? sub.items.data.map((item: Obj) => lineForItem(ctx, sub, item)) : [])
  ].map((l) => ({ ...l, invoice: id }))
  for (const ii of pending) ii.invoice = id
  const total = lines.reduce((sum, l) => sum + l.amount, 0)
  const due = Math.max(0, total)
  const invoice = fromTemplate(ctx.templates, 'invoice', {
    amount_due: due,
    amount_paid: 0,
    amount_remaining: due,
    attempt_count: 0,
    attempted: false,
    auto_advance: true,
    billing_reason: input.billingReason,
    created: now,
    currency: sub.currency,
    customer: customer.id,
    customer_address: customer.address,
    customer_email: customer.email,
    customer_name: customer.name,
    customer_phone: customer.phone,
    effective_at: null,
    ending_balance: null,
    hosted_invoice_url: `${ctx.baseUrl()}/invoice/${id}`,
    id,
    invoice_pdf: `${ctx.baseUrl()}/invoice/${id}/pdf`,
    lines: { object: 'list', data: lines, has_more: false, url: `/v1/invoices/${id}/lines` },
    metadata: {},
    next_payment_attempt: null,
    number: null,
    parent: {
      quote_details: null,
      subscription_details: { metadata: { ...sub.metadata }, subscription: sub.id },
      type: 'subscription_details'
    },
    period_end: input.periodEnd,
    period_start: input.periodStart,
    status: 'draft',
    status_transitions: { finalized_at: null, marked_uncollectible_at: null, paid_at: null, voided_at: null },
    subtotal: total,
    subtotal_excluding_tax: total,
    test_clock: sub.test_clock ?? null,
    total,
    total_excluding_tax: total,
    webhooks_delivered_at: null
  })
  ctx.store.put('invoices', invoice)
  sub.latest_invoice = id
  return invoice
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
  ctx.emit('invoice.finalized', invoice, { request })
}

// Charges the customer's card; customers flagged through /_emulator/customers/:id/fail-payments
// decline. Returns whether the invoice is now paid.
export function attemptPayment (ctx: Ctx, invoice: Obj, request: RequestInfo = NO_REQUEST, forceSuccess = false): boolean {
  const now = ctx.now(invoice)
  invoice.attempt_count += 1
  invoice.attempted = true
  const fails = !forceSuccess && invoice.amount_due > 0 && ctx.store.failingCustomers.has(invoice.customer)
  if (!fails) {
    invoice.status = 'paid'
    invoice.amount_paid = invoice.amount_due
    invoice.amount_remaining = 0
    invoice.ending_balance = 0
    invoice.next_payment_attempt = null
    invoice.auto_advance = false
    invoice.status_transitions.paid_at = now
    ctx.emit('invoice.paid', invoice, { request })
    ctx.emit('invoice.payment_succeeded', invoice, { request })
    return true
  }
  const wait = ctx.settings.retryScheduleDays[invoice.attempt_count - 1]
  invoice.next_payment_attempt = wait === undefined ? null : now + wait * 86_400
  ctx.emit('invoice.payment_failed', invoice, { request })
  return false
}
