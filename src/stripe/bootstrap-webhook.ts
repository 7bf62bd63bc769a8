import type Stripe from 'stripe'
import { HANDLED_EVENT_TYPES } from '../billing/handled-event-types.js'
import { STRIPE_API_VERSION } from './client.js'

export interface WebhookEndpointAction {
  endpoint: 'created' | 'updated' | 'unchanged'
  id: string
  url: string
  api_version: string
  /** Only when created: Stripe shows an endpoint's signing secret once. Set it as STRIPE_WEBHOOK_SECRET. */
  secret?: string
  /** Endpoints for the same URL in another API version: delete them once the new secret is configured. */
  other_versions: Array<{ id: string, api_version: string | null }>
}

/**
 * Makes sure Stripe sends Tollgate's webhook URL the events it handles in the pinned API version,
 * the one its code reads. An endpoint's version cannot be changed, so one in another version is left
 * for the operator to delete after switching secrets (meanwhile both deliver, and the worker reads
 * the foreign copy's objects again in the pinned version). One in the pinned version that lacks event
 * types a newer Tollgate handles gets them added: a second endpoint would mean a new secret and every
 * event delivered twice.
 */
export async function ensureWebhookEndpoint (stripe: Stripe, url: string): Promise<WebhookEndpointAction> {
  const same: Stripe.WebhookEndpoint[] = []
  for await (const endpoint of stripe.webhookEndpoints.list({ limit: 100 })) if (endpoint.url === url) same.push(endpoint)
  const wanted = new Set<string>(HANDLED_EVENT_TYPES)
  const covers = (e: Stripe.WebhookEndpoint) => e.enabled_events.includes('*') || [...wanted].every(t => e.enabled_events.includes(t))
  const pinned = same.find(e => e.api_version === STRIPE_API_VERSION && e.status === 'enabled' && covers(e))
  const other_versions = same.filter(e => e.api_version !== STRIPE_API_VERSION).map(e => ({ id: e.id, api_version: e.api_version }))
  if (pinned) return { endpoint: 'unchanged', id: pinned.id, url, api_version: STRIPE_API_VERSION, other_versions }
  const lacking = same.find(e => e.api_version === STRIPE_API_VERSION && e.status === 'enabled')
  if (lacking) {
    await stripe.webhookEndpoints.update(lacking.id, { enabled_events: [...new Set([...lacking.enabled_events, ...wanted])] as Stripe.WebhookEndpointUpdateParams.EnabledEvent[] })
    return { endpoint: 'updated', id: lacking.id, url, api_version: STRIPE_API_VERSION, other_versions }
  }
  const created = await stripe.webhookEndpoints.create({
    url,
    api_version: STRIPE_API_VERSION as Stripe.WebhookEndpointCreateParams.ApiVersion,
    enabled_events: [...HANDLED_EVENT_TYPES] as Stripe.WebhookEndpointCreateParams.EnabledEvent[],
    description: 'Tollgate'
  })
  return { endpoint: 'created', id: created.id, url, api_version: STRIPE_API_VERSION, secret: created.secret!, other_versions }
}
