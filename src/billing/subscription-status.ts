/**
 * One row per Stripe subscription status: whether it grants access, and whether a user who holds a
 * subscription in it may start another checkout. The access policy (access.ts) and the checkout
 * refusal (create-checkout.ts) both read this table; docs/EVENTS.md shows the same one.
 *
 * A second checkout is refused while any subscription of the user may still bill them or become
 * active again: paying a second one would be double billing. Only a subscription that has ended for
 * good (`canceled`, `incomplete_expired`) lets a new one start.
 */

/** `grace`: access for PAST_DUE_GRACE_DAYS after the unpaid invoice was finalized. */
export type StatusAccess = 'yes' | 'grace' | 'no'

/** What the user should do instead of a second checkout; machine-readable in the 409 answer. */
export const NEXT_STEPS = ['change_plan', 'pay_invoice', 'complete_payment', 'resume', 'contact_support'] as const
export type NextStep = typeof NEXT_STEPS[number]

export interface StatusRule {
  access: StatusAccess
  /** null: a new checkout may start; otherwise it is refused (409) with this advice. */
  refuseCheckout: { next: NextStep, advice: string } | null
}

const PORTAL = 'the billing portal (POST /api/v1/billing-portal)'

const HOLDS_PLAN = {
  next: 'change_plan',
  advice: `change its plan with POST /api/v1/subscriptions/change-plan, or manage it in ${PORTAL}`
} as const

/** Rows in precedence order: when a user holds several subscriptions, the 409 names the first one's row. */
export const STATUS_TABLE = {
  active: { access: 'yes', refuseCheckout: HOLDS_PLAN },
  trialing: { access: 'yes', refuseCheckout: HOLDS_PLAN },
  past_due: {
    access: 'grace',
    refuseCheckout: { next: 'pay_invoice', advice: `its latest invoice is unpaid and Stripe is retrying it: pay it (hosted_invoice_url) or update the card in ${PORTAL}` }
  },
  unpaid: {
    access: 'no',
    refuseCheckout: { next: 'pay_invoice', advice: `Stripe stopped retrying its unpaid invoice: pay it (hosted_invoice_url) or update the card in ${PORTAL} to reactivate it, or cancel it there before starting another` }
  },
  paused: {
    access: 'no',
    refuseCheckout: { next: 'resume', advice: `its trial ended without a payment method: add one in ${PORTAL} to resume it, or cancel it there before starting another` }
  },
  incomplete: {
    access: 'no',
    refuseCheckout: { next: 'complete_payment', advice: 'its first payment is still in progress and may yet succeed: complete it (hosted_invoice_url) or wait; unpaid, Stripe expires it within 23 hours and a new checkout may start then' }
  },
  incomplete_expired: { access: 'no', refuseCheckout: null },
  canceled: { access: 'no', refuseCheckout: null }
} as const satisfies Record<string, StatusRule>

export type SubscriptionStatus = keyof typeof STATUS_TABLE

/**
 * A status this table does not know (one Stripe adds later) grants nothing and blocks a new
 * checkout: it is safer to ask a human than to risk a second subscription that bills.
 */
const UNKNOWN: StatusRule = {
  access: 'no',
  refuseCheckout: { next: 'contact_support', advice: 'Tollgate does not know this status; look at the subscription in Stripe before starting another' }
}

const RANK = new Map(Object.keys(STATUS_TABLE).map((status, i) => [status, i]))

export function statusRule (status: string): StatusRule {
  return Object.hasOwn(STATUS_TABLE, status) ? STATUS_TABLE[status as SubscriptionStatus] : UNKNOWN
}

/** True for the statuses in which the user is served now (past_due: while the grace period lasts). */
export function holdsAccess (status: string): boolean {
  return statusRule(status).access !== 'no'
}

export interface CheckoutRefusal<S> {
  subscription: S
  next: NextStep
  advice: string
}

/**
 * Whether a user holding `subscriptions` may start a new checkout: null when they may, else the
 * subscription that stops them (the first by the table's order, then the newest) and what to do.
 */
export function checkoutRefusal<S extends { id: string, status: string, created: number }> (subscriptions: readonly S[]): CheckoutRefusal<S> | null {
  let found: CheckoutRefusal<S> | null = null
  let foundRank = Infinity
  for (const sub of subscriptions) {
    const refusal = statusRule(sub.status).refuseCheckout
    if (!refusal) continue
    const rank = RANK.get(sub.status) ?? RANK.size
    const newer = found !== null && (sub.created !== found.subscription.created ? sub.created > found.subscription.created : sub.id > found.subscription.id)
    if (rank < foundRank || (rank === foundRank && newer)) {
      found = { subscription: sub, ...refusal }
      foundRank = rank
    }
  }
  return found
}
