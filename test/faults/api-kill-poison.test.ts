import t from 'tap'
import { ADMIN_TOKEN, waitFor } from '../helpers/env.js'
import { kill, newBatch, pool, reached, report, Sender, settle, startFaultStack, tally } from './kit.js'

// Fault 3: the api SIGKILLed after it queued an event and before it answered; the sender retries.
// Fault 9: a poison event goes to the failed set while the others flow; fixed and retried, it applies once.

// Opt-in with the rest of the slow part: TOLLGATE_FAULTS=all (npm run test:faults).
if (process.env.TOLLGATE_FAULTS !== 'all') {
  t.plan(0, 'opt-in: TOLLGATE_FAULTS=all (npm run test:faults)')
} else {
  t.setTimeout(240_000)
  const j = await startFaultStack(t, { workers: 1 })
  const webhook = `${j.api}/api/v1/webhook`

  t.test('api SIGKILLed between queueing and answering: the retry makes one effect', async t => {
    const { customers, events } = await newBatch(j, 'apikill', 3)
    await kill(j.processes.get('api')!, 'SIGTERM')
    j.spawnProcess('api', 'src/server.ts', { TOLLGATE_FAULT_PAUSE: 'after-enqueue' })
    await j.apiReady()
    const sender = new Sender(webhook)
    const sending = pool(events, 8, async e => { await sender.deliver(e, { retry: true, maxAttempts: 200 }) })
    const queuedUnanswered = await reached(j, 'after-enqueue')
    await kill(j.processes.get('api')!)
    j.spawnProcess('api', 'src/server.ts')
    await j.apiReady()
    await sending
    await settle(j, sender.acked)
    const refused = sender.deliveries - sender.acked.size
    report(t, await tally(j, sender, customers, { scenario: 'api SIGKILL after queueing, before answering', notes: `${queuedUnanswered.length} event(s) queued but unanswered when killed; ${refused} failed deliveries retried` }))
  })

  t.test('a poison event goes to the failed set, the others flow; fixed and retried it applies once', async t => {
    const { customers, events } = await newBatch(j, 'poison', 3)
    // An invoice of a subscription Stripe cannot find: it carries no subscription state, none is
    // stored, so applying it needs a read of the subscription, and Stripe answers 404.
    const template = events.find(e => e.type === 'invoice.paid')!
    const templateSub = template.data.object.parent.subscription_details.subscription as string
    const poisonSub = `sub_poison${Date.now()}`
    const invoice = structuredClone(template.data.object)
    invoice.parent.subscription_details.subscription = poisonSub
    const poison = { ...template, id: `evt_poison${Date.now()}`, data: { object: invoice } }
    const sender = new Sender(webhook)
    await sender.deliver(poison, { retry: true })
    await pool(events, 8, async e => { await sender.deliver(e, { retry: true }) })
    await settle(j, sender.acked)
    const [failed] = await j.sql`select outcome, error from stripe_events where event_id = ${poison.id}`
    t.equal(failed?.outcome, 'failed', 'the poison event is recorded as failed')
    const admin = { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' }
    const listed = await (await fetch(`${j.api}/admin/jobs/failed?queue=stripe-events`, { headers: admin })).json()
    t.ok(listed.data.some((job: { job_id: string }) => job.job_id === poison.id), 'its job is in the failed set')

    // The fix: Stripe now knows the subscription (a second one of the same customer and user).
    const truth = structuredClone(j.emulator.ctx.store.get('subscriptions', templateSub)) as Record<string, any>
    j.emulator.ctx.store.put('subscriptions', { ...truth, id: poisonSub })
    const retried = await (await fetch(`${j.api}/admin/jobs/failed/retry`, { method: 'POST', headers: admin, body: JSON.stringify({ queue: 'stripe-events', job_ids: [poison.id] }) })).json()
    t.same(retried.retried, [poison.id], 'retried through the admin API')
    await waitFor(async () => (await j.sql`select outcome from stripe_events where event_id = ${poison.id}`)[0]?.outcome === 'applied', 'the fixed event to apply')
    const rows = await j.sql`select user_id, status from subscriptions where stripe_subscription_id = ${poisonSub}`
    t.same(rows.map(r => r.user_id), [truth.metadata.user_id], 'one subscription row for it')
    await sender.deliver(poison)
    await waitFor(async () => (await j.sql`select count(*)::int as n from stripe_events where event_id = ${poison.id} and outcome = 'applied'`)[0]!.n === 1, 'still one row')
    report(t, await tally(j, sender, customers, { scenario: 'poison event → failed set, others flow; fixed + retried', notes: 'the poison event was failed, then applied once after the fix' }))
  })
}
