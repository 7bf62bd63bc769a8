import { Clock } from './clock.js'
import { Store, type Obj } from './store.js'
import { loadTemplates, type Templates } from './templates.js'
import { Deliverer, type Endpoint } from './webhooks/delivery.js'
import { emitEvent, type RequestInfo } from './events.js'
import { StripeCliHub } from './stripecli/hub.js'
import { accountVersion, eventPayloads } from './versions/account.js'
import { Background } from './background.js'
import { nowFor, type TimeOwner } from './time.js'

/** What happens to a subscription when the last payment retry of an invoice fails (Stripe's Billing settings). */
export type RetriesExhausted = 'cancel' | 'unpaid' | 'past_due'

export interface BillingSettings {
  /** Days between payment retries after a failed payment; the last entry is the last retry. */
  retryScheduleDays: number[]
  retriesExhausted: RetriesExhausted
  testClockAdvanceMs: number
  /** How long a bank debit stays `processing` before its test IBAN settles it. */
  asyncSettleMs: number
}

export interface EmulatorOptions {
  /** Extra webhook endpoint(s) besides those created through /v1/webhook_endpoints. */
  webhookUrl?: string
  /** One or more secrets for `webhookUrl`; each gets its own `v1=` in Stripe-Signature. */
  webhookSecrets?: string[]
  retryBaseMs?: number
  maxAttempts?: number
  deliveryTimeoutMs?: number
  /** Days between payment retries after a failed renewal. */
  retryScheduleDays?: number[]
  /** The subscription's fate when the last retry fails: `cancel` (the default), `unpaid` or `past_due`. */
  retriesExhausted?: RetriesExhausted
  /** How long a test clock says `advancing` before its work runs (0: right after the answer). */
  testClockAdvanceMs?: number
  /** How long a SEPA debit stays `processing` before it settles by itself (default 1000 ms). */
  asyncSettleMs?: number
  host?: string
  /**
   * Base of the URLs the emulator hands out (checkout, portal, invoices) when browsers reach it by
   * another name than the one it listens on, e.g. http://localhost:12111 for a container bound to 0.0.0.0.
   */
  publicUrl?: string
  log?: boolean
  random?: () => number
  /** The account's default API version: events of endpoints without their own (default: the SDK's pin). */
  accountApiVersion?: string
  /** Seconds after which `stripe listen` resets its websocket (Stripe's `reconnect_delay`; 60). */
  stripeCliReconnectDelaySeconds?: number
}

export interface Ctx {
  store: Store
  /** The account's own time; objects on a test clock live in that clock's time instead (see `now`). */
  clock: Clock
  templates: Templates
  deliverer: Deliverer
  background: Background
  staticEndpoints: Endpoint[]
  settings: BillingSettings
  failApi: { status: number, count: number }
  /** The account's default API version now; each event keeps the one it was created in. */
  apiVersion: string
  stripeCli: StripeCliHub
  /** Every API answer is held back `ms` (a slow Stripe); `waiting` counts the requests held now. */
  latency: { ms: number, waiting: number }
  baseUrl: () => string
  log: (...args: unknown[]) => void
  /** Now for an object, customer or test clock: the one question every timestamp asks. */
  now: (of?: TimeOwner) => number
  emit: (type: string, object: Obj, opts?: { request?: RequestInfo, previous?: Obj }) => Obj
}

export const DEFAULT_SETTINGS: BillingSettings = { retryScheduleDays: [3, 5, 7], retriesExhausted: 'cancel', testClockAdvanceMs: 0, asyncSettleMs: 1000 }

export function createContext (opts: EmulatorOptions, baseUrl: () => string): Ctx {
  const log = opts.log ? (...args: unknown[]) => console.error('[emulator]', ...args) : () => {}
  const payloads = eventPayloads(() => ctx)
  const deliverer = new Deliverer({
    retryBaseMs: opts.retryBaseMs ?? 1000,
    maxAttempts: opts.maxAttempts ?? 8,
    timeoutMs: opts.deliveryTimeoutMs ?? 10_000,
    random: opts.random ?? Math.random,
    payload: (event, endpoint) => payloads.payload(event, endpoint.api_version ?? event.api_version)
  })
  const staticEndpoints: Endpoint[] = opts.webhookUrl
    ? [{ id: 'we_env', url: opts.webhookUrl, secrets: opts.webhookSecrets ?? [], enabled_events: ['*'], api_version: null }]
    : []
  const ctx: Ctx = {
    store: new Store(),
    clock: new Clock(),
    templates: loadTemplates(),
    deliverer,
    background: new Background((err) => log('background work failed', err)),
    staticEndpoints,
    settings: {
      retryScheduleDays: opts.retryScheduleDays ?? DEFAULT_SETTINGS.retryScheduleDays,
      retriesExhausted: opts.retriesExhausted ?? DEFAULT_SETTINGS.retriesExhausted,
      testClockAdvanceMs: opts.testClockAdvanceMs ?? DEFAULT_SETTINGS.testClockAdvanceMs,
      asyncSettleMs: opts.asyncSettleMs ?? DEFAULT_SETTINGS.asyncSettleMs
    },
    failApi: { status: 500, count: 0 },
    apiVersion: accountVersion(opts.accountApiVersion),
    stripeCli: new StripeCliHub({
      payload: payloads.payload,
      reconnectDelaySeconds: opts.stripeCliReconnectDelaySeconds ?? 60,
      log
    }),
    latency: { ms: 0, waiting: 0 },
    baseUrl,
    log,
    now: (of) => nowFor(ctx, of),
    emit: (type, object, o = {}) => emitEvent(ctx, type, object, o.request, o.previous)
  }
  return ctx
}
