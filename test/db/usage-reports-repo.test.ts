import { randomUUID } from 'node:crypto'
import postgres from 'postgres'
import t from 'tap'
import { createDeps } from '../../src/deps.js'
import { recentWindowUsage } from '../../src/db/usage-reports-repo.js'
import { appendLedger } from '../../src/db/usage-ledger-repo.js'
import { createTestDatabase, createTestPrefix, testConfig } from '../helpers/env.js'

const DAY = 86_400
const METRIC = 'requests'
const S = 1_800_000_000

t.test('the windows read are the current period\'s, one past its held end and the previous one, whatever the interval', async t => {
  const url = await createTestDatabase(t)
  const deps = createDeps(testConfig({ DATABASE_URL: url, QUEUE_PREFIX: createTestPrefix(t) }))
  t.teardown(() => deps.close())
  const sql = postgres(url, { max: 1, onnotice: () => {} })
  t.teardown(() => sql.end())
  const at = (seconds: number) => new Date(seconds * 1000)

  // u_year: a yearly period that began 75 days ago, after two monthly ones, on a test clock.
  // u_month: a monthly period whose renewal is not applied yet; u_none: no subscription.
  await sql`insert into test_clocks (id, frozen_time) values ('clock_1', ${S + 75 * DAY})`
  await sql`insert into customers (user_id, stripe_customer_id, test_clock_id) values
    ('u_year', 'cus_y', 'clock_1'), ('u_month', 'cus_m', null), ('u_none', 'cus_n', null)`
  await sql`insert into subscriptions (stripe_subscription_id, user_id, stripe_customer_id, status, current_period_start, current_period_end, stripe_time) values
    ('sub_y', 'u_year', 'cus_y', 'active', ${at(S)}, ${at(S + 365 * DAY)}, 1), ('sub_m', 'u_month', 'cus_m', 'active', ${at(S)}, ${at(S + 30 * DAY)}, 1)`
  await sql`insert into entitlements (user_id, plan_id, stripe_subscription_id, status, access, limits, current_period_end) values
    ('u_year', 'pro_yearly', 'sub_y', 'active', true, ${sql.json({ [METRIC]: 100 })}, ${at(S + 365 * DAY)}),
    ('u_month', 'pro', 'sub_m', 'active', true, ${sql.json({ [METRIC]: 10 })}, ${at(S + 30 * DAY)}),
    ('u_none', null, null, 'none', false, ${sql.json({})}, null)`
  const ledger = (userId: string, windowStart: number, quantity: number) =>
    ({ entryId: randomUUID(), userId, metric: METRIC, windowStart, quantity, idempotencyKey: null, createdAt: new Date() })
  await appendLedger(deps.db, [
    ledger('u_year', S - 61 * DAY, 1), ledger('u_year', S - 31 * DAY, 2), ledger('u_year', S, 3), ledger('u_year', S, 4),
    ledger('u_month', S - 62 * DAY, 5), ledger('u_month', S - 31 * DAY, 6), ledger('u_month', S, 7), ledger('u_month', S + 30 * DAY, 8),
    ledger('u_none', S - 400 * DAY, 9)
  ])
  await sql`insert into usage_meter_reports (identifier, user_id, metric, window_start, from_quantity, to_quantity, stripe_customer_id, event_timestamp)
    values ('r1', 'u_month', ${METRIC}, ${S}, 0, 2, 'cus_m', ${S + DAY})`

  const read = (await recentWindowUsage(deps.db)).sort((a, b) => a.userId.localeCompare(b.userId) || a.windowStart - b.windowStart)
  t.same(read.map(w => [w.userId, w.windowStart - S, w.used, w.limit, w.reported, w.periodStart, w.periodEnd, w.testClockTime]), [
    ['u_month', -31 * DAY, 6, 10, 0, S, S + 30 * DAY, null],
    ['u_month', 0, 7, 10, 2, S, S + 30 * DAY, null],
    ['u_month', 30 * DAY, 8, 10, 0, S, S + 30 * DAY, null],
    ['u_none', -400 * DAY, 9, null, 0, null, null, null],
    ['u_year', -31 * DAY, 2, 100, 0, S, S + 365 * DAY, S + 75 * DAY],
    ['u_year', 0, 7, 100, 0, S, S + 365 * DAY, S + 75 * DAY]
  ], 'the yearly window is read; the window before the previous one is not')
})
