import t from 'tap'
import { eq } from 'drizzle-orm'
import { createCheckout } from '../../src/billing/use-cases/create-checkout.js'
import { checkoutSessions, customers } from '../../src/db/schema.js'
import { API_KEY } from '../helpers/env.js'
import { buildBillingApp } from '../helpers/billing.js'

t.test('create-checkout', async t => {
  const { app, deps, call, control, emulator } = await buildBillingApp(t, { RATE_LIMIT_USER_PER_MINUTE: '1000' })
  const stripeCustomers = async () => (await deps.stripe.customers.list({ limit: 100 })).data
  const stripeSessions = async () => (await deps.stripe.checkout.sessions.list({ limit: 100 })).data

  t.test('50 concurrent calls for a new user make one Stripe customer and one session', async t => {
    const answers = await Promise.all(Array.from({ length: 50 }, () =>
      call('POST', '/api/v1/create-checkout', { plan_id: 'starter', user_id: 'user_many', email: 'many@example.com' })))
    t.same([...new Set(answers.map(a => a.statusCode))], [200])
    const ids = new Set(answers.map(a => a.json().session_id))
    t.equal(ids.size, 1, 'a double click (or fifty) gives one session')
    const mine = (await stripeCustomers()).filter(c => c.metadata.user_id === 'user_many')
    t.equal(mine.length, 1, 'one Stripe customer')
    const [row] = await deps.db.select().from(customers).where(eq(customers.userId, 'user_many'))
    t.equal(row!.stripeCustomerId, mine[0]!.id)
    t.equal(row!.email, 'many@example.com')
    const session = await deps.stripe.checkout.sessions.retrieve([...ids][0]!)
    t.equal(session.customer, mine[0]!.id)
    t.equal(session.client_reference_id, 'user_many')
    t.same(session.metadata, { user_id: 'user_many', plan_id: 'starter' })
    t.equal(session.success_url, 'http://app.example.test/billing/success?session_id={CHECKOUT_SESSION_ID}')
    t.equal(session.cancel_url, 'http://app.example.test/billing/cancel')
    t.equal(answers[0]!.json().checkout_url, session.url)
    const [recorded] = await deps.db.select().from(checkoutSessions).where(eq(checkoutSessions.sessionId, session.id))
    t.match(recorded, { userId: 'user_many', planId: 'starter', status: 'open' })

    const again = await call('POST', '/api/v1/create-checkout', { plan_id: 'pro', user_id: 'user_many' })
    t.equal(again.statusCode, 200)
    t.not(again.json().session_id, [...ids][0], 'another plan is another session')
    t.equal((await stripeCustomers()).filter(c => c.metadata.user_id === 'user_many').length, 1, 'the customer is reused')
  })

  t.test('bad requests get their 4xx and create nothing in Stripe', async t => {
    const [customersBefore, sessionsBefore] = [(await stripeCustomers()).length, (await stripeSessions()).length]
    const post = (payload: string, headers: Record<string, string> = {}) => app.inject({
      method: 'POST', url: '/api/v1/create-checkout', payload, headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json', ...headers }
    })
    const ok = { plan_id: 'starter', user_id: 'user_bad' }
    const cases: Array<[string, () => ReturnType<typeof post>, number, string]> = [
      ['unknown plan', () => post(JSON.stringify({ ...ok, plan_id: 'platinum' })), 400, 'unknown_plan'],
      ['missing auth', () => app.inject({ method: 'POST', url: '/api/v1/create-checkout', payload: ok }), 401, 'unauthorized'],
      ['wrong key', () => post(JSON.stringify(ok), { authorization: 'Bearer tg_wrong_key_0123456789abcdef' }), 401, 'unauthorized'],
      ['key of another length', () => post(JSON.stringify(ok), { authorization: `Bearer ${API_KEY}x` }), 401, 'unauthorized'],
      ['basic scheme', () => post(JSON.stringify(ok), { authorization: `Basic ${API_KEY}` }), 401, 'unauthorized'],
      ['extra field price', () => post(JSON.stringify({ ...ok, price: 'price_123' })), 400, 'invalid_request'],
      ['extra field customer', () => post(JSON.stringify({ ...ok, customer: 'cus_123' })), 400, 'invalid_request'],
      ['extra field success_url', () => post(JSON.stringify({ ...ok, success_url: 'https://evil.example' })), 400, 'invalid_request'],
      ['extra field metadata', () => post(JSON.stringify({ ...ok, metadata: { user_id: 'x' } })), 400, 'invalid_request'],
      ['extra field amount', () => post(JSON.stringify({ ...ok, amount: 1 })), 400, 'invalid_request'],
      ['over-long user id', () => post(JSON.stringify({ ...ok, user_id: 'u'.repeat(129) })), 400, 'invalid_request'],
      ['user id with spaces', () => post(JSON.stringify({ ...ok, user_id: 'a b' })), 400, 'invalid_request'],
      ['missing user id', () => post(JSON.stringify({ plan_id: 'starter' })), 400, 'invalid_request'],
      ['bad email', () => post(JSON.stringify({ ...ok, email: 'not-an-email' })), 400, 'invalid_request'],
      ['non-JSON body', () => post('plan_id=starter&user_id=u'), 400, 'bad_request'],
      ['form body', () => post('plan_id=starter&user_id=u', { 'content-type': 'application/x-www-form-urlencoded' }), 415, 'unsupported_media_type'],
      ['text body', () => post('hello', { 'content-type': 'text/plain' }), 400, 'invalid_request'],
      ['empty body', () => post(''), 400, 'bad_request'],
      ['unknown promotion code', () => post(JSON.stringify({ ...ok, promotion_code: 'NOPE20' })), 400, 'invalid_promotion_code'],
      ['promotion code with spaces', () => post(JSON.stringify({ ...ok, promotion_code: 'NO PE' })), 400, 'invalid_request']
    ]
    for (const [name, send, status, code] of cases) {
      const res = await send()
      t.equal(res.statusCode, status, `${name}: status`)
      t.equal(res.json().error, code, `${name}: error code`)
      t.type(res.json().message, 'string', `${name}: message`)
    }
    const unknown = await post(JSON.stringify({ ...ok, plan_id: 'platinum' }))
    t.match(unknown.json().message, /starter, pro, enterprise/, 'names the allowed plans')
    t.match((await post(JSON.stringify({ ...ok, promotion_code: 'NOPE20' }))).json(), { promotion_code: 'NOPE20', message: /"NOPE20"/ }, 'names the code')
    t.equal((await stripeCustomers()).length, customersBefore, 'no customer created')
    t.equal((await stripeSessions()).length, sessionsBefore, 'no session created')
  })

  t.test('a subscription that may still bill the user refuses a second checkout with 409; one that has ended lets it start', async t => {
    const subscribe = async (user: string) => {
      const first = await call('POST', '/api/v1/create-checkout', { plan_id: 'starter', user_id: user })
      return (await control(`checkout/${first.json().session_id}/complete`, { outcome: 'paid' })) as { subscription: string, customer: string }
    }
    const second = (user: string) => call('POST', '/api/v1/create-checkout', { plan_id: 'pro', user_id: user })

    // past_due as Stripe gets there: the renewal's payment fails, the invoice stays open.
    const late = await subscribe('user_past_due')
    await control(`customers/${late.customer}/fail-payments`, { fail: true })
    await control('clock/advance', { seconds: 31 * 86_400 })
    t.equal((await deps.stripe.subscriptions.retrieve(late.subscription)).status, 'past_due')
    const pastDue = await second('user_past_due')
    t.equal(pastDue.statusCode, 409)
    t.match(pastDue.json(), { error: 'already_subscribed', subscription_id: late.subscription, subscription_status: 'past_due', next_step: 'pay_invoice', hosted_invoice_url: /\/invoice\/in_/ })
    t.match(pastDue.json().message, new RegExp(`${late.subscription} \\(past_due\\): its latest invoice is unpaid`))

    // canceled as Stripe gets there.
    const gone = await subscribe('user_canceled')
    await deps.stripe.subscriptions.cancel(gone.subscription)
    t.equal((await second('user_canceled')).statusCode, 200, 'a canceled subscription bills no more')

    // The emulator's Checkout makes active subscriptions only; the other statuses are set on its
    // stored subscription, which the SDK then reads as Stripe would answer it.
    const cases = [
      ['active', 409, 'change_plan'], ['trialing', 409, 'change_plan'], ['unpaid', 409, 'pay_invoice'], ['paused', 409, 'resume'],
      ['incomplete', 409, 'complete_payment'], ['incomplete_expired', 200, null]
    ] as const
    for (const [status, code, next] of cases) {
      const user = `user_${status}`
      const { subscription } = await subscribe(user)
      emulator.ctx.store.get('subscriptions', subscription)!.status = status
      const res = await second(user)
      t.equal(res.statusCode, code, `${status}: ${code}`)
      if (code === 409) {
        t.match(res.json(), { error: 'already_subscribed', subscription_id: subscription, subscription_status: status, next_step: next, hosted_invoice_url: null }, `${status}: names the subscription and the way out`)
        t.match(res.json().message, new RegExp(`${subscription} \\(${status}\\)`))
      }
    }
    const active = await second('user_active')
    t.match(active.json().message, /change-plan/)
    t.match(active.json().message, /billing-portal/)
    const sessions = (await stripeSessions()).filter(s => s.metadata?.plan_id === 'pro' && /^user_(active|trialing|unpaid|paused|incomplete|past_due)$/.test(s.client_reference_id ?? ''))
    t.same(sessions, [], 'no second session was opened for a user who may still be billed')
  })

  t.test('a newer checkout of the same user expires the open one, so two pages cannot both be paid', async t => {
    const open = (plan: string) => call('POST', '/api/v1/create-checkout', { plan_id: plan, user_id: 'user_two_tabs' })
    const first = (await open('starter')).json().session_id as string
    t.equal((await open('starter')).json().session_id, first, 'a double click keeps its one session open')
    t.equal((await deps.stripe.checkout.sessions.retrieve(first)).status, 'open')

    const second = (await open('pro')).json().session_id as string
    t.equal((await deps.stripe.checkout.sessions.retrieve(first)).status, 'expired', 'the first page is expired in Stripe')
    const [row] = await deps.db.select().from(checkoutSessions).where(eq(checkoutSessions.sessionId, first))
    t.equal(row!.status, 'expired')
    t.match(await control(`checkout/${first}/complete`, { outcome: 'paid' }), { error: { message: /expired|not open/i } }, 'the expired page takes no payment')
    const paid = await control(`checkout/${second}/complete`, { outcome: 'paid' }) as { subscription: string }
    t.match(paid.subscription, /^sub_/, 'the newest page pays')

    // A page paid before the next one was asked for stays paid: Stripe refuses to expire it.
    const paidFirst = (await call('POST', '/api/v1/create-checkout', { plan_id: 'starter', user_id: 'user_paid_then_again' })).json().session_id as string
    await control(`checkout/${paidFirst}/complete`, { outcome: 'paid' })
    await deps.db.update(checkoutSessions).set({ status: 'open' }).where(eq(checkoutSessions.sessionId, paidFirst))
    emulator.ctx.store.get('subscriptions', (await deps.stripe.checkout.sessions.retrieve(paidFirst)).subscription as string)!.status = 'canceled'
    t.equal((await call('POST', '/api/v1/create-checkout', { plan_id: 'pro', user_id: 'user_paid_then_again' })).statusCode, 200)
    t.equal((await deps.stripe.checkout.sessions.retrieve(paidFirst)).status, 'complete', 'a completed session is left as it is')
  })

  t.test('test_clock is for test mode and for a user whose customer is not elsewhere', async t => {
    const clock = await deps.stripe.testHelpers.testClocks.create({ frozen_time: Math.floor(Date.now() / 1000) })
    const moved = await call('POST', '/api/v1/create-checkout', { plan_id: 'starter', user_id: 'user_many', test_clock: clock.id })
    t.equal(moved.statusCode, 400)
    t.match(moved.json(), { error: 'test_clock_mismatch', message: /cus_\w+ on no test clock/ })
    const live = createCheckout({ ...deps, config: { ...deps.config, STRIPE_SECRET_KEY: 'sk_live_0123456789abcdef' } }, { plan_id: 'starter', user_id: 'user_live_clock', test_clock: clock.id })
    await t.rejects(live, { code: 'test_clock_in_live_mode' })
    t.equal((await call('POST', '/api/v1/create-checkout', { plan_id: 'starter', user_id: 'user_bad_clock', test_clock: 'tick' })).statusCode, 400, 'not a clock id')
  })

  t.test('Stripe failures answer 502 with Stripe\'s message and request id, no stack', async t => {
    await control('fail-api', { status: 500, count: 10 })
    const res = await call('POST', '/api/v1/create-checkout', { plan_id: 'starter', user_id: 'user_stripe_down' })
    await control('fail-api', { status: 500, count: 0 })
    t.equal(res.statusCode, 502)
    t.equal(res.json().error, 'stripe_error')
    t.type(res.json().message, 'string')
    t.match(res.json().request_id, /^req_/)
    t.notMatch(res.body, /at .*\.ts:\d+/, 'no stack trace')
  })

})
