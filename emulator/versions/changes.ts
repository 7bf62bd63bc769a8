import type { Obj } from '../store.js'

/** What a change needs from the account's other objects (copies, never the stored ones). */
export interface Lookup {
  get: (id: string) => Obj | undefined
  /** The legacy `plan` view of a recurring price. */
  planOf: (price: Obj) => Obj
  /** The invoice a PaymentIntent pays, from the invoice's `payments`. */
  invoiceOfPaymentIntent: (id: string) => string | null
}

type Downgrade = (o: Obj, lookup: Lookup) => void

/**
 * A breaking change of Stripe's API, and how to render an object of the version after it in
 * the version before it, per object type. Only the changes to object shapes the emulator serves
 * are here; additive fields appear in every version, as with Stripe.
 */
export interface VersionChange {
  version: string
  summary: string
  downgrade: Record<string, Downgrade>
}

const idOf = (v: unknown): string | null => (typeof v === 'string' ? v : (v as Obj | null)?.id ?? null)
const resolve = (v: unknown, lookup: Lookup): Obj | null => (typeof v === 'string' ? lookup.get(v) ?? null : (v as Obj | null) ?? null)

// Before 2025-09-30.clover a discount names its coupon as the full object.
const discountCoupon: Downgrade = (d, lookup) => {
  d.coupon = resolve(d.source?.coupon, lookup)
  delete d.source
}

/** The one discount of an object as versions before basil embed it (`discount`), in their shape. */
function singleDiscount (discounts: unknown[], lookup: Lookup): Obj | null {
  const discount = discounts.length === 1 ? resolve(discounts[0], lookup) : null
  if (discount && 'source' in discount) discountCoupon(discount, lookup)
  return discount
}

function fullPrice (pricing: Obj | null | undefined, lookup: Lookup): { price: Obj | null, plan: Obj | null } {
  const price = resolve(pricing?.price_details?.price, lookup)
  return { price, plan: price?.recurring ? lookup.planOf(price) : null }
}

const subscriptionItemPeriods: Downgrade = (item) => {
  delete item.current_period_start
  delete item.current_period_end
  item.billing_thresholds ??= null
}

// The period the items share is the subscription's, as before item-level periods.
const subscriptionPeriods: Downgrade = (sub, lookup) => {
  const first = sub.items?.data?.[0]
  sub.current_period_start = first?.current_period_start ?? sub.start_date ?? null
  sub.current_period_end = first?.current_period_end ?? null
  sub.discount = singleDiscount(sub.discounts ?? [], lookup)
  sub.billing_thresholds ??= null
}

function invoicePayment (invoice: Obj, lookup: Lookup): { paymentIntent: string | null, charge: string | null } {
  const payments: Obj[] = invoice.payments?.data ?? []
  const payment = payments.find((p) => p.status === 'paid') ?? payments[0]
  const paymentIntent = idOf(payment?.payment?.payment_intent)
  const charge = idOf(payment?.payment?.charge) ?? (paymentIntent ? idOf(lookup.get(paymentIntent)?.latest_charge) : null)
  return { paymentIntent, charge }
}

// Top-level subscription fields instead of `parent`, and payment fields instead of `payments`.
const invoiceParent: Downgrade = (invoice, lookup) => {
  const details = invoice.parent?.subscription_details ?? null
  const { paymentIntent, charge } = invoicePayment(invoice, lookup)
  Object.assign(invoice, {
    application_fee_amount: null,
    charge,
    discount: singleDiscount(invoice.discounts ?? [], lookup),
    paid: invoice.status === 'paid',
    paid_out_of_band: false,
    payment_intent: paymentIntent,
    quote: invoice.parent?.quote_details?.quote ?? null,
    subscription: details?.subscription ?? null,
    subscription_details: details ? { metadata: details.metadata ?? null } : null,
    subscription_proration_date: details?.subscription_proration_date ?? null,
    tax: null,
    total_tax_amounts: (invoice.total_taxes ?? []).map(taxAmount),
    transfer_data: null
  })
  for (const key of ['parent', 'payments', 'amount_overpaid', 'confirmation_secret', 'total_taxes']) delete invoice[key]
}

const taxAmount = (t: Obj): Obj => ({
  amount: t.amount,
  inclusive: t.tax_behavior === 'inclusive',
  tax_rate: idOf(t.tax_rate_details?.tax_rate),
  taxability_reason: t.taxability_reason ?? null,
  taxable_amount: t.taxable_amount ?? null
})

// A line names its source with `type`, `subscription_item`, `invoice_item` and `proration`, and
// embeds its price and plan, instead of `parent` and `pricing`.
const lineParent: Downgrade = (line, lookup) => {
  const item = line.parent?.subscription_item_details ?? null
  const invoiceItem = line.parent?.invoice_item_details ?? null
  const { price, plan } = fullPrice(line.pricing, lookup)
  const invoiceItemId = item?.invoice_item ?? invoiceItem?.invoice_item ?? null
  Object.assign(line, {
    amount_excluding_tax: line.amount,
    invoice_item: invoiceItemId,
    plan,
    price,
    proration: item?.proration ?? invoiceItem?.proration ?? false,
    proration_details: item?.proration_details ?? invoiceItem?.proration_details ?? { credited_items: null },
    subscription: line.subscription ?? item?.subscription ?? invoiceItem?.subscription ?? null,
    subscription_item: item?.subscription_item ?? null,
    tax_amounts: (line.taxes ?? []).map(taxAmount),
    tax_rates: [],
    type: invoiceItemId ? 'invoiceitem' : 'subscription',
    unit_amount_excluding_tax: line.pricing?.unit_amount_decimal ?? null
  })
  for (const key of ['parent', 'pricing', 'taxes']) delete line[key]
}

const invoiceItemParent: Downgrade = (ii, lookup) => {
  const details = ii.parent?.subscription_details ?? null
  const { price, plan } = fullPrice(ii.pricing, lookup)
  const unitDecimal = ii.pricing?.unit_amount_decimal ?? null
  Object.assign(ii, {
    plan,
    price,
    subscription: details?.subscription ?? null,
    subscription_item: details?.subscription_item ?? null,
    unit_amount: unitDecimal === null ? null : Math.round(Number(unitDecimal)),
    unit_amount_decimal: unitDecimal
  })
  for (const key of ['parent', 'pricing']) delete ii[key]
}

const aggregateUsage = (recurring: Obj | null | undefined) => (recurring?.usage_type === 'metered' ? 'sum' : null)

export const CHANGES: VersionChange[] = [
  {
    version: '2026-03-25.dahlia',
    summary: 'Checkout Session `ui_mode` `hosted_page`/`embedded_page`/`elements` are `hosted`/`embedded`/`custom` before it.',
    downgrade: {
      'checkout.session': (s) => {
        const old: Record<string, string> = { hosted_page: 'hosted', embedded_page: 'embedded', elements: 'custom' }
        if (old[s.ui_mode]) s.ui_mode = old[s.ui_mode]
      }
    }
  },
  {
    version: '2025-09-30.clover',
    summary: 'A discount\'s `source.coupon` and a promotion code\'s `promotion.coupon` are a full `coupon` object before it.',
    downgrade: {
      discount: discountCoupon,
      promotion_code: (p, lookup) => {
        p.coupon = resolve(p.promotion?.coupon, lookup)
        delete p.promotion
      }
    }
  },
  {
    version: '2025-03-31.basil',
    summary: 'Subscription periods on the subscription, not its items; invoices, invoice items and lines without `parent`/`pricing` (top-level `subscription`, `subscription_details`, `paid`, `payment_intent`, `charge`; lines with `type`, `price`, `plan`, `proration`); `invoice` on payment intents and charges; `shipping_details` on Checkout Sessions; `aggregate_usage` on prices and plans; `discount` and `billing_thresholds` on subscriptions; `coupon` and `billing_thresholds` on schedule phases.',
    downgrade: {
      subscription: subscriptionPeriods,
      subscription_item: subscriptionItemPeriods,
      invoice: invoiceParent,
      line_item: lineParent,
      invoiceitem: invoiceItemParent,
      payment_intent: (pi, lookup) => {
        pi.invoice = lookup.invoiceOfPaymentIntent(pi.id)
      },
      charge: (ch, lookup) => {
        const pi = idOf(ch.payment_intent)
        ch.invoice = pi ? lookup.invoiceOfPaymentIntent(pi) : null
      },
      'checkout.session': (s) => {
        s.shipping_details = s.collected_information?.shipping_details ?? null
      },
      price: (p) => {
        if (p.recurring) p.recurring.aggregate_usage = aggregateUsage(p.recurring)
      },
      plan: (p) => {
        p.aggregate_usage = aggregateUsage(p)
      },
      subscription_schedule: (s) => {
        if (s.default_settings) s.default_settings.billing_thresholds ??= null
        for (const phase of s.phases ?? []) {
          phase.coupon = null
          phase.billing_thresholds ??= null
          for (const item of phase.items ?? []) item.billing_thresholds ??= null
        }
      }
    }
  }
]
