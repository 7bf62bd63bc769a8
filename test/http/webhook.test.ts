import t from 'tap'
import { createHmac } from 'node:crypto'
import { buildTestApp } from '../helpers/app.js'
import { makeEvent, signBody, WEBHOOK_SECRET } from '../helpers/env.js'

const SECOND_SECRET = 'whsec_test_secret_rotated_9876543210'

t.test('webhook ingestion', async t => {
  const { app, deps, logs } = await buildTestApp(t, { STRIPE_WEBHOOK_SECRET: `${WEBHOOK_SECRET},${SECOND_SECRET}`, WEBHOOK_BODY_LIMIT: '4096' })
  const queue = deps.queues.stripeEvents
  const post = (body: string | Buffer, headers: Record<string, string>) =>
    app.inject({ method: 'POST', url: '/api/v1/webhook', payload: body, headers: { 'content-type': 'application/json', ...headers } })
  const jobCount = () => queue.getJobCountByTypes('waiting', 'delayed', 'active', 'completed', 'failed', 'prioritized')

  t.test('a signed event is answered 200 and queued once under its id', async t => {
    const event = makeEvent('checkout.session.completed', { id: 'cs_test_1', object: 'checkout.session', customer_email: 'jo@example.com', customer_details: { email: 'jo@example.com', name: 'Jo' }, client_reference_id: 'user_1' })
    const body = JSON.stringify(event)
    const res = await post(body, { 'stripe-signature': signBody(body) })
    t.equal(res.statusCode, 200)
    t.same(res.json(), { status: 'received' })
    const job = await queue.getJob(event.id)
    t.ok(job, 'job exists with jobId = event id')
    t.equal(job!.name, 'checkout.session.completed')
    t.equal(job!.data.event.id, event.id)
    t.equal(job!.data.event.data.object.client_reference_id, 'user_1', 'what the worker needs is kept')
    t.notMatch(JSON.stringify(job!.data), /jo@example\.com|whsec_|Jo"/, 'no email, name or secret in job data')
  })

  t.test('the same event five times, concurrently, makes one job and five 200s', async t => {
    const before = await jobCount()
    const event = makeEvent()
    const body = JSON.stringify(event)
    const answers = await Promise.all(Array.from({ length: 5 }, () => post(body, { 'stripe-signature': signBody(body) })))
    t.same(answers.map(a => a.statusCode), [200, 200, 200, 200, 200])
    t.equal(await jobCount(), before + 1)
  })

  t.test('either secret of a rotation header with two v1 signatures is accepted', async t => {
    for (const secret of [WEBHOOK_SECRET, SECOND_SECRET]) {
      const event = makeEvent()
      const body = JSON.stringify(event)
      const ts = Math.floor(Date.now() / 1000)
      const sig = (s: string) => createHmac('sha256', s).update(`${ts}.${body}`).digest('hex')
      const header = `t=${ts},v1=${sig('whsec_some_other_endpoint_secret')},v1=${sig(secret)}`
      const res = await post(body, { 'stripe-signature': header })
      t.equal(res.statusCode, 200, `accepted with ${secret === WEBHOOK_SECRET ? 'first' : 'second'} secret`)
      t.ok(await queue.getJob(event.id))
    }
  })

  t.test('bad input is refused with its status and queues nothing', async t => {
    const event = makeEvent()
    const body = JSON.stringify(event)
    const stale = Math.floor(Date.now() / 1000) - 301
    const notJson = 'this is not json'
    const big = JSON.stringify(makeEvent('customer.updated', { id: 'cus_1', object: 'customer', pad: 'x'.repeat(5000) }))
    const cases: Array<[string, () => ReturnType<typeof post>, number, string]> = [
      ['missing signature', () => post(body, {}), 400, 'missing_signature'],
      ['malformed signature', () => post(body, { 'stripe-signature': 'garbage' }), 400, 'invalid_signature'],
      ['wrong secret', () => post(body, { 'stripe-signature': signBody(body, 'whsec_wrong_secret_123456') }), 400, 'invalid_signature'],
      ['stale timestamp', () => post(body, { 'stripe-signature': signBody(body, WEBHOOK_SECRET, stale) }), 400, 'invalid_signature'],
      ['re-serialised body', () => post(JSON.stringify(event, null, 2), { 'stripe-signature': signBody(body) }), 400, 'invalid_signature'],
      ['non-JSON body, correctly signed', () => post(notJson, { 'stripe-signature': signBody(notJson) }), 400, 'invalid_payload'],
      ['signed JSON that is not an event', () => post('{"hello":1}', { 'stripe-signature': signBody('{"hello":1}') }), 400, 'invalid_payload'],
      ['wrong content type', () => app.inject({ method: 'POST', url: '/api/v1/webhook', payload: body, headers: { 'content-type': 'text/plain', 'stripe-signature': signBody(body) } }), 400, 'invalid_content_type'],
      ['empty body', () => post('', { 'stripe-signature': signBody('') }), 400, 'invalid_payload'],
      ['body over the limit', () => post(big, { 'stripe-signature': signBody(big) }), 413, 'payload_too_large']
    ]
    const before = await jobCount()
    for (const [name, send, status, code] of cases) {
      const res = await send()
      t.equal(res.statusCode, status, `${name}: status`)
      t.equal(res.json().error, code, `${name}: error code`)
    }
    t.equal(await jobCount(), before, 'nothing queued')
    t.notOk(await queue.getJob(event.id))
  })

  t.test('a refused signature is logged at warn with the reason, never the signature', async t => {
    const body = JSON.stringify(makeEvent())
    const refusals = () => logs.map(l => JSON.parse(l)).filter(l => /^webhook refused/.test(l.msg))
    const cases: Array<[Record<string, string>, RegExp]> = [
      [{ 'stripe-signature': signBody(body, 'whsec_wrong_secret_123456') }, /^webhook refused: signed with none of the 2 secret\(s\) in STRIPE_WEBHOOK_SECRET/],
      [{ 'stripe-signature': signBody(body, WEBHOOK_SECRET, Math.floor(Date.now() / 1000) - 400) }, /^webhook refused: signed 4\d\d s ago, more than WEBHOOK_TOLERANCE_SECONDS \(300\)/],
      [{ 'stripe-signature': 'garbage' }, /^webhook refused: the Stripe-Signature header is not in Stripe's t=…,v1=… form/],
      [{}, /^webhook refused: Stripe-Signature header is missing/]
    ]
    for (const [headers, reason] of cases) {
      const before = refusals().length
      await post(body, headers)
      const logged = refusals().slice(before)
      t.equal(logged.length, 1)
      t.match(logged[0], { level: 40, msg: reason })
      const signature = headers['stripe-signature']?.split('v1=')[1]
      if (signature) t.notMatch(JSON.stringify(logged[0]), signature, 'no signature in the line')
    }
  })

  t.test('logs of webhook requests carry no signature, key or email', async t => {
    const event = makeEvent('invoice.payment_failed', { id: 'in_1', object: 'invoice', customer_email: 'secret.person@example.com' })
    const body = JSON.stringify(event)
    const header = signBody(body)
    const res = await app.inject({ method: 'POST', url: '/api/v1/webhook', payload: body, headers: { 'content-type': 'application/json', 'stripe-signature': header, authorization: 'Bearer tg_some_key_abcdefghijkl' } })
    t.equal(res.statusCode, 200)
    const text = logs.join('')
    t.match(text, event.id, 'the event id is logged')
    t.notMatch(text, header.split('v1=')[1]!, 'no signature')
    t.notMatch(text, 'tg_some_key_abcdefghijkl', 'no key')
    t.notMatch(text, 'secret.person@example.com', 'no email')
    t.notMatch(text, WEBHOOK_SECRET, 'no webhook secret')
  })
})
