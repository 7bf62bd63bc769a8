import t from 'tap'
import { Value } from 'typebox/value'
import { thresholdEvents } from '../../src/billing/usage.js'
import { productEventWebhooks } from '../../src/http/product-event-schemas.js'
import { changedFields, decidePlanChange, decideProductEvents, NO_EVENT_ENTITLEMENT, trialWillEndEvent, type EventEntitlement } from '../../src/billing/product-events.js'

const active: EventEntitlement = {
  plan_id: 'starter', status: 'active', access: true, access_until: null, features: { api: true }, limits: { requests: 1000 }, current_period_end: 1_800_000_000, cancel_at_period_end: false
}
const at = 1_790_000_000

t.test('a checkout that grants access: checkout.completed, then entitlement.updated with what changed', async t => {
  const events = decideProductEvents({ userId: 'u1', before: NO_EVENT_ENTITLEMENT, after: active, checkouts: [{ sessionId: 'cs_1', planId: 'starter' }], at })
  t.same(events.map(e => e.type), ['checkout.completed', 'entitlement.updated'])
  t.same(events[0]!.payload, { type: 'checkout.completed', timestamp: new Date(at * 1000).toISOString(), data: { user_id: 'u1', entitlement: active, checkout: { session_id: 'cs_1', plan_id: 'starter' } } })
  t.equal(events[0]!.onceKey, 'checkout:cs_1', 'a checkout completes once, whichever path saw it')
  t.same(events[1]!.payload.data, { user_id: 'u1', entitlement: active, changed: ['access', 'plan_id', 'status', 'features', 'limits'], previous: NO_EVENT_ENTITLEMENT })
  t.equal(events[1]!.onceKey, null)
})

t.test('nothing the product sees changed: no event (a renewal, an event applied again)', async t => {
  t.same(decideProductEvents({ userId: 'u1', before: active, after: { ...active, current_period_end: active.current_period_end! + 2_592_000 }, checkouts: [], at }), [])
  t.same(decideProductEvents({ userId: 'u1', before: active, after: { ...active, features: { api: true }, limits: { requests: 1000 } }, checkouts: [], at }), [])
})

t.test('features and limits compare by content, whatever their key order', async t => {
  t.same(changedFields({ ...active, limits: { a: 1, b: 2 } }, { ...active, limits: { b: 2, a: 1 } }), [])
  t.same(changedFields(active, { ...active, limits: { requests: 5000 } }), ['limits'])
  t.same(changedFields(active, { ...active, cancel_at_period_end: true }), ['cancel_at_period_end'])
})

t.test('a failed renewal: entitlement.updated (status) and subscription.past_due, once', async t => {
  const pastDue = { ...active, status: 'past_due', access_until: at + 3 * 86_400 }
  const events = decideProductEvents({ userId: 'u1', before: active, after: pastDue, checkouts: [], at })
  t.same(events.map(e => e.type), ['entitlement.updated', 'subscription.past_due'])
  t.same(events[1]!.payload.data, { user_id: 'u1', entitlement: pastDue })
  t.same(decideProductEvents({ userId: 'u1', before: pastDue, after: pastDue, checkouts: [], at }), [], 'still past due: nothing new')
})

t.test('an event carries the entitlement only: no card, no Stripe id or secret', async t => {
  const [event] = decideProductEvents({ userId: 'u1', before: NO_EVENT_ENTITLEMENT, after: active, checkouts: [], at })
  t.notMatch(JSON.stringify(event), /sub_|cus_|pm_|card|whsec_|sk_/)
})

t.test('plan_change.scheduled: a change scheduled, replaced or gone; the same one read back (keys in another order) is nothing new', async t => {
  const pending = { plan_id: 'pro', at: 1_800_000_000 }
  const [scheduled] = decidePlanChange('u1', null, pending, active, at)
  t.same(scheduled!.payload, { type: 'plan_change.scheduled', timestamp: new Date(at * 1000).toISOString(), data: { user_id: 'u1', entitlement: active, pending_change: pending } })
  t.same(decidePlanChange('u1', { at: pending.at, plan_id: 'pro' }, pending, active, at), [], 'as Postgres hands it back')
  t.same(decidePlanChange('u1', pending, { ...pending, plan_id: 'enterprise' }, active, at).map(e => e.payload.data.pending_change), [{ plan_id: 'enterprise', at: pending.at }])
  t.same(decidePlanChange('u1', pending, { ...pending, at: pending.at + 1 }, active, at).length, 1, 'another time')
  t.same(decidePlanChange('u1', pending, null, active, at).map(e => e.payload.data.pending_change), [null], 'canceled: nothing pending')
  t.same(decidePlanChange('u1', null, null, active, at), [])
})

t.test('trial.will_end: once per trial, with whether a card is on file and when the trial ends', async t => {
  const event = trialWillEndEvent('u1', { ...active, status: 'trialing' }, at, { once: 'trial_will_end:sub_1:1790', trialEnd: 1_790_500_000, hasCard: false })
  t.equal(event.onceKey, 'trial_will_end:sub_1:1790')
  t.same(event.payload.data, { user_id: 'u1', entitlement: { ...active, status: 'trialing' }, trial_end: 1_790_500_000, has_card: false })
})

t.test('usage.threshold_reached: one per threshold crossed, once per period and threshold', async t => {
  const events = thresholdEvents({ userId: 'u1', metric: 'requests', windowStart: 1_789_000_000, percents: [80, 100], used: 1200, limit: 1000, resetsAt: 1_800_000_000, at }, active)
  t.same(events.map(e => e.onceKey), ['usage_threshold:u1:requests:1789000000:80', 'usage_threshold:u1:requests:1789000000:100'])
  t.same(events[1]!.payload, {
    type: 'usage.threshold_reached', timestamp: new Date(at * 1000).toISOString(), data: { user_id: 'u1', entitlement: active, metric: 'requests', threshold: 100, used: 1200, limit: 1000, resets_at: 1_800_000_000 }
  })
})

t.test('the events raised by trials, plan changes and usage match the OpenAPI webhooks they are documented by', async t => {
  const events = [
    ...decidePlanChange('u1', null, { plan_id: 'pro', at }, active, at),
    ...decidePlanChange('u1', { plan_id: 'pro', at }, null, active, at),
    trialWillEndEvent('u1', active, at, { once: 'k', trialEnd: at, hasCard: true }),
    ...thresholdEvents({ userId: 'u1', metric: 'requests', windowStart: at, percents: [80], used: null, limit: 1000, resetsAt: null, at }, active)
  ]
  for (const e of events) {
    const schema = (productEventWebhooks[e.type] as any).post.requestBody.content['application/json'].schema
    t.ok(Value.Check(schema, e.payload), `${e.type}: ${JSON.stringify([...Value.Errors(schema, e.payload)].map(x => x.message))}`)
  }
  t.notOk(Value.Check((productEventWebhooks['usage.threshold_reached'] as any).post.requestBody.content['application/json'].schema, { ...events.at(-1)!.payload, data: { ...events.at(-1)!.payload.data, threshold: 50 } }), 'the schema is strict enough to tell')
})
