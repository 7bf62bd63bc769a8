import Stripe from 'stripe'
import { createEmulator } from '../../emulator/index.js'

/**
 * Times the emulator's billing clock: N customers check out through the stripe SDK (10 % with
 * failing cards), then the clock moves DAYS days in one advance, as the fault suite's soak does.
 * CLOCK_BILLING=1 adds the billing features: each checkout also takes a metered price and a 10 %
 * coupon, each customer reports 3 meter events, and every fifth one downgrades through a schedule.
 *   npx tsx test/bench/emulator-clock.ts            # N=2000, DAYS=32
 *   CLOCK_N=500 CLOCK_DAYS=64 npx tsx test/bench/emulator-clock.ts
 *   CLOCK_BILLING=1 npx tsx test/bench/emulator-clock.ts
 */
const n = Number(process.env.CLOCK_N ?? 2000)
const days = Number(process.env.CLOCK_DAYS ?? 32)
const billing = process.env.CLOCK_BILLING === '1'
const concurrency = 16

const emulator = createEmulator()
const url = await emulator.listen(0)
const stripe = new Stripe('sk_test_clock', { host: '127.0.0.1', port: emulator.port, protocol: 'http', maxNetworkRetries: 0 })
const control = async (path: string, body: unknown) => {
  const res = await fetch(`${url}/_emulator/${path}`, { method: 'POST', body: JSON.stringify(body) })
  if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`)
  return await res.json() as Record<string, any>
}

try {
  const monthly = await stripe.prices.create({ currency: 'usd', unit_amount: 900, recurring: { interval: 'month' }, product_data: { name: 'Pro' } })
  const starter = await stripe.prices.create({ currency: 'usd', unit_amount: 400, recurring: { interval: 'month' }, product_data: { name: 'Starter' } })
  const meter = billing ? await stripe.billing.meters.create({ display_name: 'Requests', event_name: 'requests', default_aggregation: { formula: 'sum' } }) : undefined
  const metered = meter && await stripe.prices.create({ currency: 'usd', unit_amount: 1, recurring: { interval: 'month', usage_type: 'metered', meter: meter.id }, product_data: { name: 'Requests' } })
  const coupon = billing ? await stripe.coupons.create({ percent_off: 10, duration: 'forever' }) : undefined
  const started = Date.now()
  let next = 0
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < n) {
      const i = next++
      const session = await stripe.checkout.sessions.create({
        mode: 'subscription',
        line_items: [{ price: monthly.id, quantity: 1 }, ...(metered ? [{ price: metered.id }] : [])],
        ...(coupon && { discounts: [{ coupon: coupon.id }] }),
        customer_email: `c${i}@example.test`,
        success_url: 'http://127.0.0.1/ok',
        cancel_url: 'http://127.0.0.1/cancel'
      })
      const done = await control(`checkout/${session.id}/complete`, { outcome: 'paid' })
      if (i % 10 === 0) await control(`customers/${done.customer}/fail-payments`, { fail: true })
      if (!billing) continue
      for (let k = 0; k < 3; k++) await stripe.billing.meterEvents.create({ event_name: 'requests', payload: { stripe_customer_id: done.customer, value: '100' } })
      if (i % 5 !== 0) continue
      const schedule = await stripe.subscriptionSchedules.create({ from_subscription: done.subscription })
      const current = schedule.phases[0]!
      await stripe.subscriptionSchedules.update(schedule.id, {
        phases: [{ items: current.items.map(it => ({ price: it.price as string })), start_date: current.start_date, end_date: current.end_date },
          { items: [{ price: starter.id }, ...(metered ? [{ price: metered.id }] : [])], iterations: 1 } as Stripe.SubscriptionScheduleUpdateParams.Phase]
      })
    }
  }))
  const checkoutMs = Date.now() - started
  const eventsBefore = emulator.ctx.store.collections.events.size
  const advanceStarted = process.hrtime.bigint()
  // CPU time as well as wall time: on a shared host the wall clock mostly measures the neighbours.
  const cpuStarted = process.cpuUsage()
  await control('clock/advance', { seconds: days * 86_400 })
  const advanceMs = Number(process.hrtime.bigint() - advanceStarted) / 1e6
  const cpu = process.cpuUsage(cpuStarted)
  const subs = [...emulator.ctx.store.collections.subscriptions.values()]
  const renewed = subs.filter(s => s.items.data[0].current_period_start > s.start_date).length
  const byStatus: Record<string, number> = {}
  for (const s of subs) byStatus[s.status] = (byStatus[s.status] ?? 0) + 1
  console.log(JSON.stringify({
    customers: n,
    days,
    billing,
    checkout_s: +(checkoutMs / 1000).toFixed(1),
    advance_s: +(advanceMs / 1000).toFixed(2),
    advance_cpu_s: +((cpu.user + cpu.system) / 1e6).toFixed(2),
    events_from_advance: emulator.ctx.store.collections.events.size - eventsBefore,
    renewed,
    statuses: byStatus
  }))
} finally {
  await emulator.close()
}
