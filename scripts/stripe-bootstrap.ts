import { loadCatalogue } from '../src/billing/plans.js'
import { loadConfigOrExit } from '../src/config/index.js'
import { bootstrapCatalogue } from '../src/stripe/bootstrap-catalogue.js'
import { createStripe } from '../src/stripe/client.js'

// Creates or updates the catalogue's products and prices in the configured Stripe account.
const config = loadConfigOrExit()
const stripe = createStripe({ secretKey: config.STRIPE_SECRET_KEY, apiBase: config.STRIPE_API_BASE })
try {
  for (const a of await bootstrapCatalogue(stripe, loadCatalogue(config.PLANS_FILE))) {
    console.log(`${a.plan}: product ${a.product}, price ${a.price} (${a.price_id})`)
  }
} catch (err) {
  console.error(`stripe:bootstrap failed: ${(err as Error).message}`)
  process.exit(1)
}
