import { createHmac } from 'node:crypto'

// Same scheme as Stripe: one v1 per active secret so receivers can rotate secrets.
export function signatureHeader (payload: string, secrets: string[], timestampSeconds: number): string {
  const signed = `${timestampSeconds}.${payload}`
  const parts = secrets.map((secret) => `v1=${createHmac('sha256', secret).update(signed).digest('hex')}`)
  return [`t=${timestampSeconds}`, ...parts].join(',')
}
