import { loadCatalogue } from '../src/billing/plans.js'
import { bootstrapCatalogue } from '../src/stripe/bootstrap-catalogue.js'
import { createStripe } from '../src/stripe/client.js'
import { runScript } from './cli.js'

// Creates or updates the catalogue's products and prices in the configured Stripe account.
await runScript('stripe:bootstrap', async config => {
  const stripe = createStripe({ secretKey: config.STRIPE_SECRET_KEY, apiBase: config.STRIPE_API_BASE })
  for (const a of await bootstrapCatalogue(stripe, loadCatalogue(config.PLANS_FILE))) {
    console.log(`${a.plan}: product ${a.product}, price ${a.price} (${a.price_id})`)
  }
})
