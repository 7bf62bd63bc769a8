import { createHmac } from 'node:crypto'

// Same scheme as Stripe: one v1 per active secret so receivers can rotate secrets.
export function signatureHeader (payload: string, secrets: string[], timestampSeconds: number): string {
  const signed = `${timestampSeconds}.${payload}`
  const parts = secrets.map((secret) => `v1=${createHmac('sha256', secret).update(signed).digest('hex')}`)
  return [`t=${timestampSeconds}`, ...parts].join(',')
}

/** The headers of a webhook request as Stripe sends them, signed at this moment. */
export function webhookHeaders (payload: string, secrets: string[]): Record<string, string> {
  return {
    'Content-Type': 'application/json; charset=utf-8',
    'User-Agent': 'Stripe/1.0 (+https://stripe.com/docs/webhooks)',
    'Stripe-Signature': signatureHeader(payload, secrets, Math.floor(Date.now() / 1000)),
    'Cache-Control': 'no-cache',
    Accept: '*/*; q=0.5, application/xml'
  }
}
