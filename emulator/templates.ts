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
  testClock: 'test_helpers.test_clock.json'
} as const

export type TemplateName = keyof typeof NAMES | 'subscriptionItem' | 'plan' | 'invoiceLine'
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
  cache = loaded as Templates
  return cache
}

export function fromTemplate (templates: Templates, name: TemplateName, overrides: Record<string, any>): any {
  return { ...structuredClone(templates[name]), ...overrides }
}
