import { parseArgs } from 'node:util'
import { loadCatalogue } from '../src/billing/plans.js'
import { bootstrapCatalogue } from '../src/stripe/bootstrap-catalogue.js'
import { ensureWebhookEndpoint } from '../src/stripe/bootstrap-webhook.js'
import { createStripe } from '../src/stripe/client.js'
import { runScript } from './cli.js'

// Creates or updates the catalogue's products and prices in the configured Stripe account and, given
// a webhook URL (--webhook-url or TOLLGATE_WEBHOOK_URL), the endpoint that delivers to it.
const { values } = parseArgs({ options: { 'webhook-url': { type: 'string' } } })
const webhookUrl = values['webhook-url'] ?? process.env.TOLLGATE_WEBHOOK_URL

await runScript('stripe:bootstrap', async config => {
  const stripe = createStripe({ secretKey: config.STRIPE_SECRET_KEY, apiBase: config.STRIPE_API_BASE })
  for (const a of await bootstrapCatalogue(stripe, loadCatalogue(config.PLANS_FILE))) {
    console.log(`${a.plan}: product ${a.product}, price ${a.price} (${a.price_id})`)
    for (const o of a.overage) console.log(`  ${o.metric} overage: meter ${o.meter_id}, metered price ${o.price} (${o.price_id})`)
  }
  if (!webhookUrl) {
    console.log('webhook endpoint: not checked (give --webhook-url https://<your host>/api/v1/webhook to create it in the pinned API version)')
    return
  }
  const w = await ensureWebhookEndpoint(stripe, webhookUrl)
  console.log(`webhook endpoint ${w.url}: ${w.endpoint} (${w.id}), API version ${w.api_version}`)
  if (w.secret) console.log(`  its signing secret, shown once: set STRIPE_WEBHOOK_SECRET=${w.secret}`)
  for (const o of w.other_versions) {
    console.log(`  endpoint ${o.id} delivers to the same URL in API version ${String(o.api_version)}: delete it once the secret above is configured`)
  }
})
