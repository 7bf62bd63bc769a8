import Stripe from 'stripe'

export interface StripeClientOptions {
  secretKey: string
  /** e.g. http://127.0.0.1:12111 for the offline emulator; unset for api.stripe.com. */
  apiBase?: string
  maxNetworkRetries?: number
  timeoutMs?: number
}

/** The API version Tollgate's mappers are written for: the one this SDK release pins. */
export const STRIPE_API_VERSION = Stripe.API_VERSION as Stripe.LatestApiVersion

export function createStripe (opts: StripeClientOptions): Stripe {
  const target = opts.apiBase ? new URL(opts.apiBase) : undefined
  return new Stripe(opts.secretKey, {
    apiVersion: STRIPE_API_VERSION,
    maxNetworkRetries: opts.maxNetworkRetries ?? 2,
    timeout: opts.timeoutMs ?? 10_000,
    telemetry: false,
    appInfo: { name: 'Tollgate' },
    ...(target && {
      host: target.hostname,
      port: Number(target.port || (target.protocol === 'https:' ? 443 : 80)),
      protocol: target.protocol.replace(':', '') as 'http' | 'https'
    })
  })
}
