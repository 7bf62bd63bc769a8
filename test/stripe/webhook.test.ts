import t from 'tap'
import type Stripe from 'stripe'
import { toEventJob, toEventJobInPlace } from '../../src/stripe/webhook.js'
import { makeEvent } from '../helpers/env.js'

function invoiceEvent (): Stripe.Event {
  const event = makeEvent('invoice.payment_failed', {
    id: 'in_1', object: 'invoice', customer: 'cus_1', customer_email: 'jo@example.com', customer_name: 'Jo',
    lines: { data: [{ id: 'il_1', metadata: { user_id: 'user_1' }, billing_details: { email: 'jo@example.com' } }] }
  })
  return { ...event, data: { ...event.data, previous_attributes: { customer_address: { line1: '1 Road' }, status: 'open' } } } as unknown as Stripe.Event
}

t.test('event jobs carry no personal data, and only the in-place variant touches the event', async t => {
  const event = invoiceEvent()
  const before = JSON.stringify(event)
  const job = JSON.parse(JSON.stringify(toEventJob(event)))
  t.notMatch(JSON.stringify(job), /jo@example\.com|"Jo"|1 Road/, 'no email, name or address at any depth')
  t.match(job.event.data, { object: { id: 'in_1', customer: 'cus_1', lines: { data: [{ metadata: { user_id: 'user_1' } }] } }, previous_attributes: { status: 'open' } }, 'what the worker needs is kept')
  t.equal(JSON.stringify(event), before, "toEventJob leaves the caller's event as it was")

  const parsed = JSON.parse(before) as Stripe.Event
  const inPlace = JSON.parse(JSON.stringify(toEventJobInPlace(parsed, job.receivedAt)))
  t.same(inPlace, job, 'the in-place job is the same job')
  t.notMatch(JSON.stringify(parsed), /jo@example\.com/, 'toEventJobInPlace stripped the event it was given instead of a copy')
})
