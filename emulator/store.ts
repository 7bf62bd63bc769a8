// All emulator state lives here so `reset` is one call and `state` is one dump.
export type Obj = Record<string, any>;

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
] as const;
export type Collection = (typeof COLLECTIONS)[number];

// `expand` and error messages find an object's collection from its id prefix, like Stripe does.
const PREFIXES: [string, Collection, string][] = [
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
];

export interface StoredResponse {
  fingerprint: string;
  status: number;
  body: string;
  requestId: string;
}

export interface LineItemInput {
  price: string;
  quantity: number;
}

// Checkout Session inputs Stripe keeps off the session object itself.
export interface SessionDetails {
  lineItems: LineItemInput[];
  subscriptionMetadata: Record<string, string>;
}

export class Store {
  collections = {} as Record<Collection, Map<string, Obj>>;
  sessionDetails = new Map<string, SessionDetails>();
  failingCustomers = new Set<string>();
  idempotency = new Map<string, StoredResponse>();

  constructor() {
    this.reset();
  }

  reset(): void {
    for (const name of COLLECTIONS) this.collections[name] = new Map();
    this.sessionDetails.clear();
    this.failingCustomers.clear();
    this.idempotency.clear();
  }

  get(collection: Collection, id: string): Obj | undefined {
    return this.collections[collection].get(id);
  }

  put(collection: Collection, obj: Obj): Obj {
    this.collections[collection].set(obj.id, obj);
    return obj;
  }

  delete(collection: Collection, id: string): void {
    this.collections[collection].delete(id);
  }

  // Stripe lists newest first; insertion order stands in for creation order within a second.
  newestFirst(collection: Collection): Obj[] {
    return [...this.collections[collection].values()].reverse();
  }

  findById(id: string): Obj | undefined {
    const match = PREFIXES.find(([prefix]) => id.startsWith(prefix));
    return match ? this.get(match[1], id) : undefined;
  }

  dump(): Record<string, Obj[]> {
    const out: Record<string, Obj[]> = {};
    for (const name of COLLECTIONS) out[name] = [...this.collections[name].values()];
    return out;
  }
}

export function resourceName(id: string): string {
  return PREFIXES.find(([prefix]) => id.startsWith(prefix))?.[2] ?? 'object';
}
