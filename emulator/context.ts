import { Clock } from './clock.js'
import { Store, type Obj } from './store.js'
import { loadTemplates, type Templates } from './templates.js'
import { Deliverer, type Endpoint } from './webhooks/delivery.js'
import { emitEvent, type RequestInfo } from './events.js'

export interface EmulatorOptions {
  /** Extra webhook endpoint(s) besides those created through /v1/webhook_endpoints. */
  webhookUrl?: string
  /** One or more secrets for `webhookUrl`; each gets its own `v1=` in Stripe-Signature. */
  webhookSecrets?: string[]
  retryBaseMs?: number
  maxAttempts?: number
  deliveryTimeoutMs?: number
  /** Days between payment retries after a failed renewal; the subscription ends after the last. */
  retryScheduleDays?: number[]
  host?: string
  /**
   * Base of the URLs the emulator hands out (checkout, portal, invoices) when browsers reach it by
   * another name than the one it listens on, e.g. http://localhost:12111 for a container bound to 0.0.0.0.
   */
  publicUrl?: string
  log?: boolean
  random?: () => number
}

export interface Ctx {
  store: Store
  clock: Clock
  templates: Templates
  deliverer: Deliverer
  staticEndpoints: Endpoint[]
  retryScheduleDays: number[]
  failApi: { status: number, count: number }
  /** Every API answer is held back `ms` (a slow Stripe); `waiting` counts the requests held now. */
  latency: { ms: number, waiting: number }
  baseUrl: () => string
  log: (...args: unknown[]) => void
  emit: (type: string, object: Obj, opts?: { request?: RequestInfo, previous?: Obj }) => Obj
}

export function createContext (opts: EmulatorOptions, baseUrl: () => string): Ctx {
  const deliverer = new Deliverer({
    retryBaseMs: opts.retryBaseMs ?? 1000,
    maxAttempts: opts.maxAttempts ?? 8,
    timeoutMs: opts.deliveryTimeoutMs ?? 10_000,
    random: opts.random ?? Math.random
  })
  const staticEndpoints: Endpoint[] = opts.webhookUrl
    ? [{ id: 'we_env', url: opts.webhookUrl, secrets: opts.webhookSecrets ?? [], enabled_events: ['*'] }]
    : []
  const ctx: Ctx = {
    store: new Store(),
    clock: new Clock(),
    templates: loadTemplates(),
    deliverer,
    staticEndpoints,
    retryScheduleDays: opts.retryScheduleDays ?? [3, 5, 7],
    failApi: { status: 500, count: 0 },
    latency: { ms: 0, waiting: 0 },
    baseUrl,
    log: opts.log ? (...args) => console.error('[emulator]', ...args) : () => {},
    emit: (type, object, o = {}) => emitEvent(ctx, type, object, o.request, o.previous)
  }
  return ctx
}
