import { newId } from '../ids.js'
import { fromTemplate } from '../templates.js'
import { addInterval } from './period.js'
import { isMetered } from './pricing.js'
import type { Ctx } from '../context.js'
import type { Obj } from '../store.js'

export function planFromPrice (ctx: Ctx, price: Obj): Obj {
  return fromTemplate(ctx.templates, 'plan', {
    active: price.active,
    amount: price.unit_amount,
    amount_decimal: price.unit_amount_decimal,
    billing_scheme: price.billing_scheme,
    created: price.created,
    currency: price.currency,
    id: price.id,
    interval: price.recurring?.interval ?? 'month',
    interval_count: price.recurring?.interval_count ?? 1,
    metadata: { ...price.metadata },
    meter: price.recurring?.meter ?? null,
    nickname: price.nickname,
    product: price.product,
    tiers_mode: price.tiers_mode,
    transform_usage: price.transform_quantity ? { ...price.transform_quantity } : null,
    trial_period_days: price.recurring?.trial_period_days ?? null,
    usage_type: price.recurring?.usage_type ?? 'licensed'
  })
}

export function periodEnd (price: Obj, start: number): number {
  return addInterval(start, price.recurring?.interval ?? 'month', price.recurring?.interval_count ?? 1)
}

export interface ItemInput {
  price: Obj
  quantity: number
  metadata?: Record<string, string>
}

/**
 * A subscription item holds the price object itself (not a copy), so that the item always shows the
 * price as it is now, as Stripe renders it; `plan` is derived from it when the item is read.
 */
export function subscriptionItem (ctx: Ctx, subscriptionId: string, line: ItemInput, start: number, end: number): Obj {
  const item = fromTemplate(ctx.templates, 'subscriptionItem', {
    created: start,
    current_period_start: start,
    current_period_end: end,
    id: newId('si'),
    metadata: { ...(line.metadata ?? {}) },
    plan: planFromPrice(ctx, line.price),
    price: line.price,
    quantity: line.quantity,
    subscription: subscriptionId
  })
  // A metered item has no quantity: its meter says how much it bills.
  if (isMetered(line.price)) delete item.quantity
  return item
}

export interface SubscriptionInput {
  customer: Obj
  lines: ItemInput[]
  metadata: Record<string, string>
  status: string
  /** End of the trial (the first period ends with it), or null. */
  trialEnd: number | null
  fields?: Obj
}

export function buildSubscription (ctx: Ctx, input: SubscriptionInput): Obj {
  const { customer } = input
  const now = ctx.now(customer)
  const id = newId('sub')
  const items = input.lines.map((l) => subscriptionItem(ctx, id, l, now, input.trialEnd ?? periodEnd(l.price, now)))
  return fromTemplate(ctx.templates, 'subscription', {
    billing_cycle_anchor: input.trialEnd ?? now,
    created: now,
    currency: input.lines[0].price.currency,
    customer: customer.id,
    default_payment_method: null,
    id,
    items: { object: 'list', data: items, has_more: false, url: `/v1/subscription_items?subscription=${id}` },
    latest_invoice: null,
    metadata: { ...input.metadata },
    start_date: now,
    status: input.status,
    test_clock: customer.test_clock ?? null,
    trial_end: input.trialEnd,
    trial_start: input.trialEnd ? now : null,
    ...input.fields
  })
}

export function customerDetails (customer: Obj): Obj {
  return {
    address: customer.address ?? { city: null, country: null, line1: null, line2: null, postal_code: null, state: null },
    business_name: null,
    email: customer.email,
    individual_name: null,
    name: customer.name,
    phone: customer.phone,
    tax_exempt: customer.tax_exempt ?? 'none',
    tax_ids: []
  }
}
