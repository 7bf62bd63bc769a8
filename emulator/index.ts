import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { createContext, type Ctx, type EmulatorOptions } from './context.js'
import { createRequestListener } from './http/server.js'
import { productRoutes } from './resources/products.js'
import { priceRoutes } from './resources/prices.js'
import { customerRoutes } from './resources/customers.js'
import { checkoutSessionRoutes } from './resources/checkout-sessions.js'
import { subscriptionRoutes } from './resources/subscriptions.js'
import { invoiceRoutes } from './resources/invoices.js'
import { billingPortalRoutes } from './resources/billing-portal.js'
import { webhookEndpointRoutes } from './resources/webhook-endpoints.js'
import { eventRoutes } from './resources/events.js'
import { stripeCliRoutes } from './stripecli/sessions.js'
import { attachCliWebsocket } from './stripecli/websocket.js'
import { testClockRoutes } from './resources/test-clocks.js'
import { paymentMethodRoutes } from './resources/payment-methods.js'
import { paymentIntentRoutes } from './resources/payment-intents.js'
import { setupIntentRoutes } from './resources/setup-intents.js'
import { chargeRoutes } from './resources/charges.js'
import { invoiceItemRoutes } from './resources/invoice-items.js'
import { paymentPageRoutes } from './resources/payment-pages.js'
import { couponRoutes } from './resources/coupons.js'
import { promotionCodeRoutes } from './resources/promotion-codes.js'
import { subscriptionScheduleRoutes } from './resources/subscription-schedules.js'
import { billingMeterRoutes } from './resources/billing-meters.js'
import { planRoutes } from './resources/plans.js'
import { settleIntentNow } from './billing/checkout-async.js'
import type { DeliveryRecord } from './webhooks/delivery.js'

export type { EmulatorOptions } from './context.js'
export type { DeliveryRecord } from './webhooks/delivery.js'

/** Every /v1 route, in matching order (tests walk them to check that no input makes one fail with a 500). */
export const ROUTES = [
  ...productRoutes,
  ...priceRoutes,
  ...customerRoutes,
  ...checkoutSessionRoutes,
  ...subscriptionRoutes,
  ...invoiceRoutes,
  ...billingPortalRoutes,
  ...webhookEndpointRoutes,
  ...eventRoutes,
  ...stripeCliRoutes,
  ...testClockRoutes,
  ...paymentMethodRoutes,
  ...paymentIntentRoutes,
  ...setupIntentRoutes,
  ...chargeRoutes,
  ...invoiceItemRoutes,
  ...paymentPageRoutes,
  ...couponRoutes,
  ...promotionCodeRoutes,
  ...subscriptionScheduleRoutes,
  ...billingMeterRoutes,
  ...planRoutes
]

export interface Emulator {
  /** Starts listening; port 0 (the default) picks a free port. Resolves to the base URL. */
  listen(port?: number): Promise<string>
  /** Stops the server and cancels pending webhook deliveries. */
  close(): Promise<void>
  /** Base URL, e.g. http://127.0.0.1:12111 (throws before listen). */
  readonly url: string
  readonly port: number
  /** Delivery attempts so far (same as GET /_emulator/deliveries). */
  deliveries(): DeliveryRecord[]
  /** Internal state, for tests that need to look behind the API. */
  readonly ctx: Ctx
}

export function createEmulator (opts: EmulatorOptions = {}): Emulator {
  const host = opts.host ?? '127.0.0.1'
  let address: AddressInfo | undefined
  const baseUrl = () => {
    if (!address) throw new Error('emulator is not listening')
    return `http://${host.includes(':') ? `[${host}]` : host}:${address.port}`
  }
  const publicUrl = opts.publicUrl?.replace(/\/+$/, '')
  const ctx = createContext(opts, publicUrl ? () => publicUrl : baseUrl)
  ctx.background.on('settle', (id) => settleIntentNow(ctx, id))
  const server = http.createServer(createRequestListener(ctx, ROUTES))
  // Stripe's SDK keeps connections alive; short idle timeouts let close() finish promptly.
  server.keepAliveTimeout = 1000
  attachCliWebsocket(server, ctx.stripeCli)

  return {
    ctx,
    get url () {
      return baseUrl()
    },
    get port () {
      if (!address) throw new Error('emulator is not listening')
      return address.port
    },
    deliveries: () => ctx.deliverer.records,
    listen (port = 0) {
      return new Promise((resolve, reject) => {
        server.once('error', reject)
        server.listen(port, host, () => {
          server.off('error', reject)
          address = server.address() as AddressInfo
          resolve(baseUrl())
        })
      })
    },
    close () {
      ctx.background.close()
      ctx.deliverer.close()
      ctx.stripeCli.close()
      return new Promise((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      })
    }
  }
}
