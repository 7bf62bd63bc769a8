import { readFileSync } from 'node:fs'

// Objects are built from Stripe's own fixtures so every key the SDK types declare is present.
const NAMES = {
  subscription: 'subscription.json',
  invoice: 'invoice.json',
  customer: 'customer.json',
  price: 'price.json',
  product: 'product.json',
  checkoutSession: 'checkout.session.json',
  portalSession: 'billing_portal.session.json',
  event: 'event.json',
  testClock: 'test_helpers.test_clock.json',
  paymentMethod: 'payment_method.json',
  paymentIntent: 'payment_intent.json',
  setupIntent: 'setup_intent.json',
  charge: 'charge.json',
  invoiceItem: 'invoiceitem.json',
  checkoutItem: 'item.json',
  coupon: 'coupon.json',
  promotionCode: 'promotion_code.json',
  discount: 'discount.json',
  subscriptionSchedule: 'subscription_schedule.json',
  meter: 'billing.meter.json',
  meterEvent: 'billing.meter_event.json',
  meterEventSummary: 'billing.meter_event_summary.json',
  meterEventAdjustment: 'billing.meter_event_adjustment.json'
} as const

export type TemplateName = keyof typeof NAMES | 'subscriptionItem' | 'plan' | 'invoiceLine' | 'schedulePhase'
export type Templates = Record<TemplateName, any>

let cache: Templates | undefined

export function loadTemplates (): Templates {
  if (cache) return cache
  const loaded: Record<string, any> = {}
  for (const [name, file] of Object.entries(NAMES)) {
    loaded[name] = JSON.parse(readFileSync(new URL(`./templates/${file}`, import.meta.url), 'utf8'))
  }
  loaded.subscriptionItem = loaded.subscription.items.data[0]
  loaded.plan = loaded.subscriptionItem.plan
  loaded.invoiceLine = loaded.invoice.lines.data[0]
  loaded.schedulePhase = loaded.subscriptionSchedule.phases[0]
  cache = loaded as Templates
  return cache
}

// Parsing a template's JSON text is about twice as fast as structuredClone of the object, and the
// billing clock builds several objects per renewal.
const texts = new WeakMap<object, string>()

export function fromTemplate (templates: Templates, name: TemplateName, overrides: Record<string, any>): any {
  const template = templates[name]
  let text = texts.get(template)
  if (text === undefined) texts.set(template, (text = JSON.stringify(template)))
  return { ...JSON.parse(text), ...overrides }
}
