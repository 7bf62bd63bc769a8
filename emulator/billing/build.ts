import { newId, randomToken } from '../ids.js'
import { fromTemplate } from '../templates.js'
import { addInterval } from './period.js'
import type { Ctx } from '../context.js'
import type { Obj } from '../store.js'

export function planFromPrice (ctx: Ctx, price: Obj): Obj {
  return fromTemplate(ctx.templates, 'plan', {
    active: price.active,
    amount: price.unit_amount,
    amount_decimal: price.unit_amount_decimal,
    created: price.created,
    currency: price.currency,
    id: price.id,
    interval: price.recurring?.interval ?? 'month',
    interval_count: price.recurring?.interval_count ?? 1,
    metadata: { ...price.metadata },
    nickname: price.nickname,
    product: price.product,
    trial_period_days: price.recurring?.trial_period_days ?? null,
    usage_type: price.recurring?.usage_type ?? 'licensed'
  })
}

export function periodEnd (price: Obj, start: number): number {
  return addInterval(start, price.recurring?.interval ?? 'month', price.recurring?.interval_count ?? 1)
}

export function subscriptionItem (ctx: Ctx, subscriptionId: string, price: Obj, quantity: number, start: number): Obj {
  return fromTemplate(ctx.templates, 'subscriptionItem', {
    created: start,
    current_period_start: start,
    current_period_end: periodEnd(price, start),
    id: newId('si'),
    metadata: {},
    plan: planFromPrice(ctx, price),
    price: structuredClone(price),
    quantity,
    subscription: subscriptionId
  })
}

export function buildSubscription (ctx: Ctx, customer: Obj, lines: { price: Obj, quantity: number }[], metadata: Record<string, string>): Obj {
  const now = ctx.now(customer)
  const id = newId('sub')
  const items = lines.map((l) => subscriptionItem(ctx, id, l.price, l.quantity, now))
  return fromTemplate(ctx.templates, 'subscription', {
    billing_cycle_anchor: now,
    created: now,
    currency: lines[0].price.currency,
    customer: customer.id,
    default_payment_method: `pm_${randomToken(24)}`,
    id,
    items: { object: 'list', data: items, has_more: false, url: `/v1/subscription_items?subscription=${id}` },
    latest_invoice: null,
    metadata: { ...metadata },
    start_date: now,
    status: 'active',
    test_clock: customer.test_clock ?? null
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
