import t from 'tap'
import { HANDLED_EVENT_TYPES } from '../../src/billing/handled-event-types.js'
import { ensureWebhookEndpoint } from '../../src/stripe/bootstrap-webhook.js'
import { createStripe, STRIPE_API_VERSION } from '../../src/stripe/client.js'
import { startStripeEmulator } from '../helpers/stripe-emulator.js'

t.test('bootstrap creates the webhook endpoint in the pinned API version once, and names endpoints in other versions', async t => {
  const em = await startStripeEmulator(t)
  const stripe = createStripe({ secretKey: 'sk_test_tollgate_0123456789', apiBase: em.url })
  const url = 'https://billing.example.test/api/v1/webhook'
  const old = await stripe.webhookEndpoints.create({ url, enabled_events: ['*'], api_version: '2025-02-24.acacia' })

  const first = await ensureWebhookEndpoint(stripe, url)
  t.match(first, { endpoint: 'created', url, api_version: STRIPE_API_VERSION, secret: /^whsec_/, other_versions: [{ id: old.id, api_version: '2025-02-24.acacia' }] })
  const made = await stripe.webhookEndpoints.retrieve(first.id)
  t.equal(made.api_version, STRIPE_API_VERSION, 'Stripe holds the endpoint in the pinned version')
  t.same([...made.enabled_events].sort(), [...HANDLED_EVENT_TYPES].sort(), 'for the events Tollgate handles')

  const again = await ensureWebhookEndpoint(stripe, url)
  t.match(again, { endpoint: 'unchanged', id: first.id })
  t.notOk(again.secret, 'a secret is shown only when created')
  t.equal((await stripe.webhookEndpoints.list({ limit: 100 })).data.filter(e => e.url === url).length, 2, 'nothing more is created')
})

t.test('an endpoint made before Tollgate handled more event types gets them added, keeping its secret', async t => {
  const em = await startStripeEmulator(t)
  const stripe = createStripe({ secretKey: 'sk_test_tollgate_0123456789', apiBase: em.url })
  const url = 'https://billing.example.test/api/v1/webhook'
  const before = HANDLED_EVENT_TYPES.filter(type => !type.startsWith('subscription_schedule.'))
  const old = await stripe.webhookEndpoints.create({ url, enabled_events: [...before], api_version: STRIPE_API_VERSION as never })
  t.match(await ensureWebhookEndpoint(stripe, url), { endpoint: 'updated', id: old.id })
  t.notOk((await ensureWebhookEndpoint(stripe, url)).secret)
  t.same([...(await stripe.webhookEndpoints.retrieve(old.id)).enabled_events].sort(), [...HANDLED_EVENT_TYPES].sort())
  t.equal((await stripe.webhookEndpoints.list({ limit: 100 })).data.filter(e => e.url === url).length, 1, 'no second endpoint')
})
