import type Stripe from 'stripe'
import { waitFor } from './helpers.js'

/** Advances a test clock as a Stripe client must: the answer says `advancing`; the work is done once it says `ready`. */
export async function advanceClock (stripe: Stripe, clockId: string, frozenTime: number): Promise<Stripe.TestHelpers.TestClock> {
  const answer = await stripe.testHelpers.testClocks.advance(clockId, { frozen_time: frozenTime })
  if (answer.status !== 'advancing') throw new Error(`advance answered ${answer.status}`)
  return await waitFor(async () => {
    const clock = await stripe.testHelpers.testClocks.retrieve(clockId)
    return clock.status === 'ready' && clock
  })
}

/** Event types of the whole account, oldest first. */
export async function eventTypes (stripe: Stripe): Promise<string[]> {
  const events: Stripe.Event[] = []
  for await (const e of stripe.events.list({ limit: 100 })) events.push(e)
  return events.reverse().map(e => e.type)
}

/** Events about one object (by data.object.id), oldest first. */
export async function eventsOf (stripe: Stripe, id: string): Promise<Stripe.Event[]> {
  const events: Stripe.Event[] = []
  for await (const e of stripe.events.list({ limit: 100 })) if ((e.data.object as { id?: string }).id === id) events.push(e)
  return events.reverse()
}

export const T0 = Date.UTC(2030, 0, 15, 12) / 1000

type Env = { stripe: Stripe }

/** A customer whose default payment method is the test card `token` (pm_card_visa, pm_card_chargeCustomerFail, …). */
export async function customerWithCard (env: Env, token = 'pm_card_visa', extra: Stripe.CustomerCreateParams = {}): Promise<Stripe.Customer> {
  return await env.stripe.customers.create({ email: 'card@example.com', payment_method: token, invoice_settings: { default_payment_method: token }, ...extra })
}

/** Event types about one object, oldest first. */
export async function typesOf (stripe: Stripe, id: string): Promise<string[]> {
  return (await eventsOf(stripe, id)).map(e => e.type)
}
