// All emulator state lives here so `reset` is one call and `state` is one dump.
export type Obj = Record<string, any>

export const COLLECTIONS = [
  'customers',
  'products',
  'prices',
  'checkout_sessions',
  'subscriptions',
  'invoices',
  'invoiceitems',
  'portal_sessions',
  'webhook_endpoints',
  'events',
  'test_clocks',
  'payment_methods',
  'payment_intents',
  'setup_intents',
  'charges',
  'invoice_payments',
  'coupons',
  'promotion_codes',
  'discounts',
  'subscription_schedules',
  'billing_meters'
] as const
export type Collection = (typeof COLLECTIONS)[number]

// `expand` and error messages find an object's collection from its id prefix, like Stripe does
// (longest prefix first: `sub_sched_` before `sub_`). Coupons have ids of their own choosing.
const PREFIXES: [string, Collection, string][] = [
  ['sub_sched_', 'subscription_schedules', 'subscription_schedule'],
  ['cus_', 'customers', 'customer'],
  ['prod_', 'products', 'product'],
  ['price_', 'prices', 'price'],
  ['cs_', 'checkout_sessions', 'checkout.session'],
  ['sub_', 'subscriptions', 'subscription'],
  ['in_', 'invoices', 'invoice'],
  ['ii_', 'invoiceitems', 'invoiceitem'],
  ['bps_', 'portal_sessions', 'billing_portal.session'],
  ['we_', 'webhook_endpoints', 'webhook_endpoint'],
  ['evt_', 'events', 'event'],
  ['clock_', 'test_clocks', 'test_helpers.test_clock'],
  ['pm_', 'payment_methods', 'payment_method'],
  ['pi_', 'payment_intents', 'payment_intent'],
  ['seti_', 'setup_intents', 'setup_intent'],
  ['ch_', 'charges', 'charge'],
  ['inpay_', 'invoice_payments', 'invoice_payment'],
  ['promo_', 'promotion_codes', 'promotion_code'],
  ['di_', 'discounts', 'discount'],
  ['mtr_', 'billing_meters', 'billing.meter']
]

export interface StoredResponse {
  fingerprint: string
  status: number
  body: string
  requestId: string
}

export interface LineItemInput {
  id: string
  price: string
  quantity: number
}

// Checkout Session inputs Stripe keeps off the session object itself.
export interface SessionDetails {
  lineItems: LineItemInput[]
  subscriptionData: {
    metadata: Record<string, string>
    description: string | null
    trialEnd: number | null
    trialPeriodDays: number | null
    missingPaymentMethod: string
  }
  paymentIntentData: { metadata: Record<string, string>, description: string | null, setupFutureUsage: string | null }
  setupIntentData: { metadata: Record<string, string>, description: string | null }
}

/** A billing meter event as received: counted by the meter of its `event_name` for its customer. */
export interface MeterEventRecord {
  identifier: string
  eventName: string
  customer: string
  value: number
  timestamp: number
  /** When it arrived, in its customer's time (an adjustment can cancel it for 24 hours). */
  created: number
  canceled: boolean
}

// Invoices and invoice items are also kept per subscription (which never changes once they
// exist), in creation order: renewals and the billing clock look them up for one subscription at a
// time, which must not scan every invoice.
type PerSubscription = 'invoices' | 'invoiceitems'
const subscriptionOf = (obj: Obj): string | undefined => obj.parent?.subscription_details?.subscription

export class Store {
  collections = {} as Record<Collection, Map<string, Obj>>
  private bySubscription = {} as Record<PerSubscription, Map<string, Obj[]>>
  sessionDetails = new Map<string, SessionDetails>()
  failingCustomers = new Set<string>()
  idempotency = new Map<string, StoredResponse>()
  /** Meter events by identifier (Stripe refuses a second event with one), and by event name and customer. */
  meterEvents = new Map<string, MeterEventRecord>()
  meterUsage = new Map<string, MeterEventRecord[]>()
  /** Meter events Stripe accepts but cannot count (no meter, unknown customer, …): its error reports. */
  meterErrors: Obj[] = []
  /** Deleted customers: Stripe still answers their id, with `deleted: true`. */
  tombstones = new Map<string, Obj>()
  /** What the emulator remembers about an object that Stripe keeps off the object itself. */
  private internals = new Map<string, Obj>()

  constructor () {
    this.reset()
  }

  reset (): void {
    for (const name of COLLECTIONS) this.collections[name] = new Map()
    this.bySubscription = { invoices: new Map(), invoiceitems: new Map() }
    this.sessionDetails.clear()
    this.failingCustomers.clear()
    this.idempotency.clear()
    this.meterEvents.clear()
    this.meterUsage.clear()
    this.meterErrors = []
    this.internals.clear()
    this.tombstones.clear()
  }

  internal (id: string): Obj {
    let record = this.internals.get(id)
    if (!record) this.internals.set(id, (record = {}))
    return record
  }

  get (collection: Collection, id: string): Obj | undefined {
    return this.collections[collection].get(id)
  }

  put (collection: Collection, obj: Obj): Obj {
    const index = this.collections[collection].has(obj.id) ? undefined : this.perSubscription(collection)
    this.collections[collection].set(obj.id, obj)
    const subId = subscriptionOf(obj)
    if (index && subId) {
      const list = index.get(subId)
      if (list) list.push(obj)
      else index.set(subId, [obj])
    }
    return obj
  }

  delete (collection: Collection, id: string): void {
    const obj = this.collections[collection].get(id)
    this.collections[collection].delete(id)
    this.internals.delete(id)
    const index = this.perSubscription(collection)
    const subId = obj && subscriptionOf(obj)
    if (index && subId) index.set(subId, (index.get(subId) ?? []).filter((o) => o !== obj))
  }

  /** Deletes every object of a collection that `match` picks. */
  deleteWhere (collection: Collection, match: (obj: Obj) => boolean): void {
    for (const obj of [...this.collections[collection].values()]) if (match(obj)) this.delete(collection, obj.id)
  }

  private perSubscription (collection: Collection): Map<string, Obj[]> | undefined {
    return collection === 'invoices' || collection === 'invoiceitems' ? this.bySubscription[collection] : undefined
  }

  /** Invoices or invoice items of one subscription, oldest first. */
  ofSubscription (collection: PerSubscription, subscriptionId: string): readonly Obj[] {
    return this.bySubscription[collection].get(subscriptionId) ?? []
  }

  // Stripe lists newest first; insertion order stands in for creation order within a second.
  newestFirst (collection: Collection): Obj[] {
    return [...this.collections[collection].values()].reverse()
  }

  findById (id: string): Obj | undefined {
    const match = PREFIXES.find(([prefix]) => id.startsWith(prefix))
    return match ? this.get(match[1], id) : this.get('coupons', id)
  }

  dump (): Record<string, Obj[]> {
    const out: Record<string, Obj[]> = {}
    for (const name of COLLECTIONS) out[name] = [...this.collections[name].values()]
    return out
  }
}

export function collectionOf (id: string): Collection | undefined {
  return PREFIXES.find(([prefix]) => id.startsWith(prefix))?.[1]
}

export function resourceName (id: string): string {
  return PREFIXES.find(([prefix]) => id.startsWith(prefix))?.[2] ?? 'object'
}
