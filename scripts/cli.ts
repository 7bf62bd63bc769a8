import { existsSync } from 'node:fs'
import Stripe from 'stripe'
import { ConfigError, explainConfigError, loadConfig, type Config } from '../src/config/index.js'
import { postgresCause } from '../src/db/errors.js'
import { STACK_ENV_FILE } from './stack/stack-env.js'

/** A failure as a person at a terminal needs it: what went wrong and what to do, no stack trace. */
export function describeFailure (err: unknown, config?: Config): string {
  if (err instanceof ConfigError) {
    // The demo's configuration is the stack's, not .env's: point at the way to use it.
    const stack = existsSync(STACK_ENV_FILE) ? `\nA stack runs here (${STACK_ENV_FILE}): to run this against it, npm run stack -- <script> (reconcile, db:migrate, stripe:bootstrap).` : ''
    return explainConfigError(err) + stack
  }
  const pg = postgresCause(err)
  if (pg) return pg
  if (err instanceof Stripe.errors.StripeConnectionError) {
    const target = config?.STRIPE_API_BASE ?? 'https://api.stripe.com'
    const demo = config?.STRIPE_API_BASE ? '' : ' (STRIPE_API_BASE is not set, so real Stripe: for the demo\'s emulator set it, or run the script through the stack, e.g. npm run stack -- reconcile)'
    return `could not reach Stripe at ${target}${demo}: ${err.message}`
  }
  if (err instanceof Stripe.errors.StripeAuthenticationError) return `Stripe refused STRIPE_SECRET_KEY: ${err.message}`
  if (err instanceof Stripe.errors.StripeError) return `Stripe answered ${err.statusCode ?? ''} ${err.type}: ${err.message}`.replace('  ', ' ')
  return String((err as Error)?.message ?? err).split('\n')[0]!
}

/**
 * Runs a command-line script: its config loaded, every failure reported in a line or a short list on
 * stderr with exit code 1. DEBUG=1 adds the stack trace.
 */
export async function runScript (name: string, main: (config: Config) => Promise<void>): Promise<void> {
  let config: Config | undefined
  try {
    config = loadConfig()
    await main(config)
  } catch (err) {
    console.error(`${name} failed: ${describeFailure(err, config)}`)
    if (process.env.DEBUG) console.error(err)
    process.exitCode = 1
  }
}
