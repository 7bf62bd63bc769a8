import { aggregate, meterEventsIn } from '../billing/metering.js'
import { badRequest, missing } from '../wire/errors.js'
import type { Ctx } from '../context.js'
import type { Obj } from '../store.js'

/**
 * `GET /_emulator/meters/:id/usage?customer=…&start=…&end=…`: what a meter holds for a customer over
 * [start, end) (default: everything up to the customer's now), as its formula aggregates it, with the
 * events it counts. What a renewal invoice bills for the period it closes.
 */
export function meterUsage (ctx: Ctx, id: string, query: Obj): Obj {
  const meter = ctx.store.get('billing_meters', id)
  if (!meter) throw missing('billing.meter', id)
  if (!query.customer) throw badRequest('customer is required', 'customer')
  const customer = String(query.customer)
  const start = query.start === undefined ? 0 : Number(query.start)
  const end = query.end === undefined ? ctx.now(ctx.store.get('customers', customer) ? customer : null) + 1 : Number(query.end)
  if (!Number.isFinite(start) || !Number.isFinite(end)) throw badRequest('start and end must be Unix timestamps', 'start')
  return {
    meter: meter.id,
    event_name: meter.event_name,
    formula: meter.default_aggregation.formula,
    customer,
    start,
    end,
    value: aggregate(ctx, meter, customer, start, end),
    events: meterEventsIn(ctx, meter, customer, start, end).map((e) => ({ identifier: e.identifier, value: e.value, timestamp: e.timestamp }))
  }
}
