/**
 * Values every copy of Tollgate knows. The offline demo's (`npm run stack`, docker compose) are
 * published in the repository, and `.env.example`'s are stand-ins to replace: either would let anyone
 * sign webhooks or call the API. They are accepted only while Tollgate talks to an emulator.
 */
export const DEMO_VALUES = {
  STRIPE_SECRET_KEY: 'sk_test_offline_demo_0123456789',
  STRIPE_WEBHOOK_SECRET: 'whsec_offline_demo_0123456789',
  API_KEYS: 'demo-api-key-0123456789',
  ADMIN_TOKEN: 'demo-admin-token-0123456789'
} as const

export const EXAMPLE_PLACEHOLDERS = {
  STRIPE_SECRET_KEY: 'sk_test_replace_me',
  STRIPE_WEBHOOK_SECRET: 'whsec_replace_me',
  API_KEYS: 'replace-with-a-long-random-key',
  ADMIN_TOKEN: 'replace-with-another-long-random-token'
} as const

type Guarded = keyof typeof DEMO_VALUES

const ADVICE: Record<Guarded, string> = {
  STRIPE_SECRET_KEY: 'use your own key from the Stripe Dashboard (Developers → API keys)',
  STRIPE_WEBHOOK_SECRET: "use your endpoint's signing secret (the Dashboard, or the whsec_… that stripe listen prints)",
  API_KEYS: 'use keys of your own, e.g. openssl rand -hex 24',
  ADMIN_TOKEN: 'use a token of your own, e.g. openssl rand -hex 24'
}

/** Real Stripe, as opposed to the emulator or another stand-in at STRIPE_API_BASE. */
export function isRealStripe (apiBase: string | undefined): boolean {
  return !apiBase || new URL(apiBase).hostname === 'api.stripe.com'
}

/** Why a variable's value must not be used against real Stripe, or null. List variables are checked item by item. */
export function placeholderReason (name: string, value: string): string | null {
  if (!(name in DEMO_VALUES)) return null
  const items = value.split(',').map(s => s.trim())
  const key = name as Guarded
  if (items.includes(EXAMPLE_PLACEHOLDERS[key])) return `is .env.example's placeholder "${EXAMPLE_PLACEHOLDERS[key]}": ${ADVICE[key]}`
  if (items.includes(DEMO_VALUES[key])) return `is the offline demo's published value, accepted only with STRIPE_API_BASE set to the emulator: ${ADVICE[key]}`
  return null
}
