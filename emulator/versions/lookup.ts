import { planFromPrice } from '../billing/build.js'
import type { Lookup } from './changes.js'
import type { Ctx } from '../context.js'
import type { Obj } from '../store.js'

const idOf = (v: unknown): string | null => (typeof v === 'string' ? v : (v as Obj | null)?.id ?? null)

/** Rendering reads the current state of what an object names, as Stripe embeds it. */
export function storeLookup (ctx: Ctx): Lookup {
  return {
    get: (id) => {
      const found = ctx.store.findById(id)
      return found ? structuredClone(found) : undefined
    },
    planOf: (price) => planFromPrice(ctx, price),
    invoiceOfPaymentIntent: (id) => {
      for (const invoice of ctx.store.collections.invoices.values()) {
        const payments: Obj[] = invoice.payments?.data ?? []
        if (payments.some((p) => idOf(p.payment?.payment_intent) === id)) return invoice.id
      }
      return null
    }
  }
}
