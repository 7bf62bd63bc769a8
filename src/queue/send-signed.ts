import { Webhook } from 'standardwebhooks'

/** How long an endpoint has to answer one delivery. */
export const DELIVERY_TIMEOUT_MS = 10_000
/** How much of an answer the attempt log keeps. */
const EXCERPT_BYTES = 512

export interface SignedDelivery {
  url: string
  /** Every secret signs: during a rotation the endpoint may still hold the old one. */
  secrets: string[]
  /** `msg_…`, the same on every retry and replay of one event, so the product can deduplicate. */
  webhookId: string
  body: string
  /** Now, as the signature's timestamp: each attempt is signed afresh. */
  at: Date
}

export interface DeliveryOutcome { ok: boolean, status: number | null, latencyMs: number, response: string | null }

/** The Standard Webhooks headers of one attempt: several signatures are separated by spaces. */
export function signedHeaders (d: Omit<SignedDelivery, 'url'>): Record<string, string> {
  return {
    'content-type': 'application/json',
    'user-agent': 'Tollgate',
    'webhook-id': d.webhookId,
    'webhook-timestamp': String(Math.floor(d.at.getTime() / 1000)),
    'webhook-signature': d.secrets.map(s => new Webhook(s).sign(d.webhookId, d.at, d.body)).join(' ')
  }
}

/** The first bytes of an answer, without reading the rest of a large one. */
async function excerpt (res: Response): Promise<string> {
  if (!res.body) return ''
  const reader = res.body.getReader()
  const chunks: Uint8Array[] = []
  let size = 0
  while (size < EXCERPT_BYTES) {
    const { done, value } = await reader.read()
    if (done) break
    chunks.push(value)
    size += value.length
  }
  await reader.cancel().catch(() => {})
  return Buffer.concat(chunks).subarray(0, EXCERPT_BYTES).toString('utf8')
}

/**
 * One attempt: a 2xx is a delivery; anything else, a redirect included (a moved endpoint is the
 * operator's to configure, and the body must not follow it elsewhere), a timeout or a refused
 * connection is a failure. Never throws.
 */
export async function sendSigned (d: SignedDelivery): Promise<DeliveryOutcome> {
  const started = performance.now()
  const latency = () => Math.round(performance.now() - started)
  try {
    const res = await fetch(d.url, {
      method: 'POST',
      headers: signedHeaders(d),
      body: d.body,
      redirect: 'manual',
      signal: AbortSignal.timeout(DELIVERY_TIMEOUT_MS)
    })
    const response = await excerpt(res).catch(() => '')
    return { ok: res.status >= 200 && res.status < 300, status: res.status, latencyMs: latency(), response }
  } catch (err) {
    const e = err as Error & { cause?: { code?: string } }
    const reason = e.name === 'TimeoutError' ? `no answer within ${DELIVERY_TIMEOUT_MS} ms` : `${e.message}${e.cause?.code ? ` (${e.cause.code})` : ''}`
    return { ok: false, status: null, latencyMs: latency(), response: reason }
  }
}
