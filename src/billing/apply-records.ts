import type { SubscriptionState } from './access.js'
import type { CheckoutState, EmailIntent, EventDecision } from './lifecycle.js'
import type { Plan } from './plans.js'
import type { ProductEventWrite } from './product-events.js'

/** What applying Stripe events reads and writes: rows as Tollgate stores them, Stripe's answers, the writes of a batch. */

/** A subscription's payment as its checkout and invoices tell it; null = never said (access follows the status alone). */
export type PaymentState = 'pending' | 'paid' | 'failed'

/** A plan change a subscription schedule makes at `at` (unix seconds); `plan_id` null: a price outside the catalogue. */
export interface PendingChange { plan_id: string | null, at: number }

/** The subscription's discount: a percentage or an amount (smallest currency unit) off, until `ends_at` (null: for good). */
export interface Discount { percent_off: number | null, amount_off: number | null, currency: string | null, ends_at: number | null }

/** A subscription as Tollgate stores it; times are unix seconds. */
export interface SubscriptionRecord {
  id: string
  userId: string
  customerId: string
  planId: string | null
  priceId: string | null
  status: string
  currentPeriodStart: number | null
  currentPeriodEnd: number | null
  cancelAtPeriodEnd: boolean
  access: boolean
  accessUntil: number | null
  startedAt: number | null
  endedAt: number | null
  /** The Stripe time (event `created`) this state is as of; only ever grows. */
  stripeTime: number
  paymentState: PaymentState | null
  paymentStateAt: number | null
  trialEnd: number | null
  pendingChange: PendingChange | null
  discount: Discount | null
}

/**
 * Access as the user gets it: the status's (access.ts), held back while the payment that started
 * the subscription is on its way or failed (an asynchronous payment method at checkout).
 */
export const grants = (s: Pick<SubscriptionRecord, 'access' | 'paymentState'>) => s.access && s.paymentState !== 'pending' && s.paymentState !== 'failed'

/** A user's Stripe customer; `stripeTime` is the Stripe time its address and test clock are as of. */
export interface CustomerRecord {
  userId: string
  customerId: string | null
  email: string | null
  testClock: string | null
  stripeTime: number | null
}

export interface TestClockRecord { id: string, frozenTime: number }

/** What Postgres holds about a batch. */
export interface Stored {
  subscriptions: SubscriptionRecord[]
  customers: CustomerRecord[]
  testClocks: TestClockRecord[]
}

export interface CustomerState { id: string, email: string | null, userId: string | null, testClock: string | null }

/** What was read from Stripe for a batch, in the pinned API version. */
export interface StripeReads {
  subscriptions: Map<string, SubscriptionState>
  customers: Map<string, CustomerState>
  testClocks: Map<string, TestClockRecord>
}

export interface Needs { subscriptions: Set<string>, customers: Set<string>, testClocks: Set<string> }

export interface PlanItem {
  event: { id: string, type: string, created: number }
  decision: EventDecision
  /** The subscription as the event carries it, mapped; null when it carries none that can be trusted. */
  snapshot: SubscriptionState | null
}

export interface ApplyResult {
  outcome: 'applied' | 'ignored' | 'duplicate'
  userId?: string
  note?: string
}

export interface CheckoutWrite { sessionId: string, userId: string, planId: string, subscriptionId: string, state: CheckoutState, at: number }

export interface EmailWrite { eventId: string, userId: string, to: string, intent: EmailIntent }

/** A user's one trial, first seen on this subscription. */
export interface TrialClaim { userId: string, customerId: string, subscriptionId: string, trialEnd: number | null }

export interface EntitlementWrite { userId: string, sub: SubscriptionRecord, plan: Plan | undefined }

/** Every row one transaction writes; later work adds its own rows here (product events, usage). */
export interface ApplyWrites {
  subscriptions: SubscriptionRecord[]
  entitlements: EntitlementWrite[]
  /** Whole rows, what is stored merged with the batch's changes. */
  customers: CustomerRecord[]
  checkouts: CheckoutWrite[]
  testClocks: TestClockRecord[]
  emails: EmailWrite[]
  trialClaims: TrialClaim[]
  /** Outbox rows of events to the product, in each user's order. */
  productEvents: ProductEventWrite[]
}

/**
 * An event that cannot be applied until someone fixes its data in Stripe: retrying the same job
 * fails the same way, so it goes to the dead-letter queue and its claim stays open for a replay.
 */
export class UnappliableEventError extends Error {
  constructor (readonly code: string, message: string) {
    super(message)
    this.name = 'UnappliableEventError'
  }
}

export const noNeeds = (): Needs => ({ subscriptions: new Set(), customers: new Set(), testClocks: new Set() })

export const noReads = (): StripeReads => ({ subscriptions: new Map(), customers: new Map(), testClocks: new Map() })
