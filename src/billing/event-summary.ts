import type { Catalogue } from './plans.js'

type Obj = Record<string, any>

export interface EventSummary {
  /** One line for a person: what the event changed, e.g. `plan starter → pro; status active → past_due`. */
  changes: string[]
  detail: Record<string, unknown>
}

const money = (amount: unknown, currency: unknown) => (typeof amount === 'number'
  ? new Intl.NumberFormat('en', { style: 'currency', currency: typeof currency === 'string' ? currency.toUpperCase() : 'USD' }).format(amount / 100)
  : null)

/** The plan a subscription (or its previous_attributes) names: the catalogue's id, else the price's lookup key. */
function planOf (subscription: Obj | undefined, catalogue?: Catalogue): string | null {
  const lookupKey = subscription?.items?.data?.[0]?.price?.lookup_key
  if (typeof lookupKey !== 'string') return null
  return catalogue?.byLookupKey(lookupKey)?.id ?? lookupKey
}

/** What changed on a subscription, from the event's previous_attributes. */
function subscriptionChanges (object: Obj, previous: Obj, catalogue?: Catalogue): string[] {
  const changes: string[] = []
  const [before, after] = [planOf(previous, catalogue), planOf(object, catalogue)]
  if ('items' in previous && before !== after) changes.push(`plan ${before ?? '?'} → ${after ?? '?'}`)
  if ('status' in previous) changes.push(`status ${String(previous.status)} → ${String(object.status)}`)
  if ('cancel_at_period_end' in previous) changes.push(object.cancel_at_period_end ? 'cancels at period end' : 'cancellation withdrawn')
  return changes
}

/**
 * What an event said about the object it concerned: the changes a person reads first, and details
 * without personal data. Pure, so the timeline's wording is tested without a database.
 */
export function summarizeEvent (type: string, payload: Obj, catalogue?: Catalogue): EventSummary {
  const object: Obj = payload?.data?.object ?? {}
  const previous: Obj = payload?.data?.previous_attributes ?? {}
  const detail: Record<string, unknown> = { object_id: object.id ?? null }
  for (const key of ['status', 'cancel_at_period_end', 'amount_due', 'amount_paid', 'attempt_count', 'billing_reason']) {
    if (object[key] !== undefined) detail[key] = object[key]
  }
  const plan = object.object === 'subscription' ? planOf(object, catalogue) : null
  if (plan) detail.plan_id = plan
  const changed = Object.keys(previous)
  if (changed.length) detail.changed = changed

  let changes: string[]
  if (object.object === 'subscription') {
    changes = changed.length ? subscriptionChanges(object, previous, catalogue) : [[plan, object.status].filter(Boolean).join(', ')]
  } else if (object.object === 'invoice') {
    const due = money(object.amount_due, object.currency)
    changes = [[due && `${due} due`, object.status, object.attempt_count ? `attempt ${String(object.attempt_count)}` : null].filter(Boolean).join(', ')]
  } else {
    changes = object.status ? [String(object.status)] : []
  }
  return { changes: changes.filter(Boolean), detail }
}
