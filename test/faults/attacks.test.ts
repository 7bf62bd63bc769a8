import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { Queue } from 'bullmq'
import t from 'tap'
import { ADMIN_TOKEN, API_KEY, WEBHOOK_SECRET, signBody, testRedis } from '../helpers/env.js'
import { catalogue, emulatorEvents, pool, priceIds, report, Sender, settle, startFaultStack, subscribeCustomers, tally } from './kit.js'

// Hostile and malformed input against the real api process, logging at info. Each attack: the
// status, nothing queued, no state change (Postgres, Redis, the emulator), and the api still serves.

t.setTimeout(240_000)
const j = await startFaultStack(t, { workers: 1, env: { LOG_LEVEL: 'info' } })
const webhook = `${j.api}/api/v1/webhook`
const queue = new Queue('stripe-events', { connection: testRedis(j.redisUrl), prefix: j.prefix })
t.teardown(async () => { await queue.close(); (await queue.client).disconnect() })
const CARD = '4242424242424242'

async function snapshot () {
  const [db] = await j.sql`select (select count(*) from stripe_events)::int as events, (select count(*) from customers)::int as customers,
    (select count(*) from checkout_sessions)::int as checkouts, (select count(*) from subscriptions)::int as subscriptions,
    (select count(*) from entitlements)::int as entitlements, (select count(*) from email_outbox)::int as outbox`
  const jobs = await queue.getJobCounts('wait', 'active', 'delayed', 'completed', 'failed', 'prioritized')
  const store = j.emulator.ctx.store.dump()
  return { ...db, jobs: Object.values(jobs).reduce((s, n) => s + n, 0), stripeCustomers: store.customers!.length, stripeSessions: store.checkout_sessions!.length }
}

const results: Array<{ attack: string, status: number, want: number | number[] }> = []
let changes = 0
async function attack (name: string, want: number | number[], send: () => Promise<number>) {
  const before = await snapshot()
  const status = await send()
  results.push({ attack: name, status, want })
  const after = await snapshot()
  const changed = Object.keys(before).filter(k => (before as any)[k] !== (after as any)[k])
  if (changed.length) changes++
  t.same(changed, [], `${name}: nothing queued or changed`)
  t.ok([want].flat().includes(status), `${name}: answered ${status}, wanted ${want}`)
  t.equal((await fetch(`${j.api}/health/ready`)).status, 200, `${name}: still serving`)
}

const post = async (path: string, body: BodyInit, headers: Record<string, string>) => {
  const res = await fetch(`${j.api}${path}`, { method: 'POST', body, headers })
  await res.arrayBuffer()
  return res.status
}
const get = async (path: string, headers: Record<string, string> = { authorization: `Bearer ${API_KEY}` }) => {
  const res = await fetch(`${j.api}${path}`, { headers })
  await res.arrayBuffer()
  return res.status
}

const customers = await subscribeCustomers(j, 2, { tag: 'atk' })
const setup = new Sender(webhook)
await pool(emulatorEvents(j), 8, async e => { await setup.deliver(e, { retry: true }) })
await settle(j, setup.acked)
const event = emulatorEvents(j).find(e => e.type === 'customer.subscription.created')!
const body = JSON.stringify({ ...event, id: `evt_attack${Date.now()}` })

/**
 * Sends a big body with curl, a client that reads the answer while it writes (Node's sockets lose an
 * early answer to the reset that follows it). No `Expect: 100-continue`: the body really is on its way.
 */
async function postLarge (path: string, bytes: number, headers: Record<string, string>, chunked = false): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'tg-big-'))
  try {
    const file = join(dir, 'body')
    writeFileSync(file, Buffer.alloc(bytes, 0x20))
    const args = ['-sS', '-o', '/dev/null', '-w', '%{http_code}', '-H', 'Expect:', ...(chunked ? ['-H', 'transfer-encoding: chunked'] : []),
      ...Object.entries(headers).flatMap(([k, v]) => ['-H', `${k}: ${v}`]), '--data-binary', `@${file}`, `${j.api}${path}`]
    const { stdout } = await promisify(execFile)('curl', args)
    return Number(stdout)
  } finally { rmSync(dir, { recursive: true, force: true }) }
}

/** Card-like: 15 or 16 digits, maybe grouped by spaces or dashes, passing the Luhn check; not a timestamp (13 digits) nor a decimal fraction (response times). */
function cardLike (text: string): boolean {
  return [...text.matchAll(/(?<![\d.])\d(?:[ -]?\d){14,15}(?![\d.])/g)].some(([m]) => {
    const digits = m.replace(/\D/g, '')
    let sum = 0
    for (let i = 0; i < digits.length; i++) {
      let d = Number(digits[digits.length - 1 - i])
      if (i % 2 === 1) { d *= 2; if (d > 9) d -= 9 }
      sum += d
    }
    return sum % 10 === 0
  })
}

/** A socket that sends headers and then one byte a second; resolves with how long the server let it live. */
function trickle (path: string, contentLength: number): Promise<number> {
  return new Promise(resolve => {
    const started = Date.now()
    const socket = net.connect(Number(new URL(j.api).port), '127.0.0.1', () => {
      socket.write(`POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${contentLength}\r\nStripe-Signature: ${signBody('x')}\r\n\r\n{`)
    })
    const timer = setInterval(() => { if (!socket.destroyed) socket.write(' ') }, 1000)
    socket.on('data', () => {})
    socket.on('error', () => {})
    socket.on('close', () => { clearInterval(timer); resolve(Date.now() - started) })
  })
}

t.test('attacks and bad input', async t => {
  // Cut off at the 15 s request timeout (plus the 2 s check interval).
  const slow = trickle('/api/v1/webhook', 100_000)

  await attack('webhook without signature', 400, () => post('/api/v1/webhook', body, { 'content-type': 'application/json' }))
  await attack('webhook with malformed signature', 400, () => post('/api/v1/webhook', body, { 'content-type': 'application/json', 'stripe-signature': 'garbage,v1=,t=' }))
  await attack('webhook signed with a wrong secret', 400, () => post('/api/v1/webhook', body, { 'content-type': 'application/json', 'stripe-signature': signBody(body, 'whsec_attacker_0123456789') }))
  await attack('webhook body re-serialised after signing', 400, () => post('/api/v1/webhook', JSON.stringify(JSON.parse(body), null, 1), { 'content-type': 'application/json', 'stripe-signature': signBody(body) }))
  await attack('webhook with a stale signature (301 s)', 400, () => post('/api/v1/webhook', body, { 'content-type': 'application/json', 'stripe-signature': signBody(body, WEBHOOK_SECRET, Math.floor(Date.now() / 1000) - 301) }))
  await attack('webhook signed but not JSON', 400, () => post('/api/v1/webhook', 'not json {', { 'content-type': 'application/json', 'stripe-signature': signBody('not json {') }))
  await attack('webhook signed JSON that is no event', 400, () => post('/api/v1/webhook', '{"id":"../../etc","type":1}', { 'content-type': 'application/json', 'stripe-signature': signBody('{"id":"../../etc","type":1}') }))
  await attack('webhook as text/plain', 400, () => post('/api/v1/webhook', body, { 'content-type': 'text/plain', 'stripe-signature': signBody(body) }))
  await attack('webhook as form data', 400, () => post('/api/v1/webhook', 'a=1', { 'content-type': 'application/x-www-form-urlencoded', 'stripe-signature': signBody('a=1') }))
  let bigMs = 0
  await attack('webhook body of 20 MB', 413, async () => {
    const started = Date.now()
    const status = await postLarge('/api/v1/webhook', 20 * 1024 * 1024, { 'content-type': 'application/json', 'stripe-signature': signBody('{}') })
    bigMs = Date.now() - started
    return status
  })
  await attack('webhook body of 20 MB, chunked (no Content-Length)', 413, () => postLarge('/api/v1/webhook', 20 * 1024 * 1024, { 'content-type': 'application/json', 'stripe-signature': signBody('{}') }, true))
  t.ok(bigMs < 2000, `20 MB refused in ${bigMs} ms, curl included: by Content-Length, before the body is read or hashed`)
  await attack('product route without a key', 401, () => get('/api/v1/entitlements/u_atk_0', {}))
  await attack('product route with a wrong key', 401, () => get('/api/v1/entitlements/u_atk_0', { authorization: 'Bearer tg_wrong_key_0123456789abcdef' }))
  await attack('product route with the admin token', 401, () => get('/api/v1/entitlements/u_atk_0', { authorization: `Bearer ${ADMIN_TOKEN}` }))
  await attack('admin route with a product key', 401, () => get('/admin/events', { authorization: `Bearer ${API_KEY}` }))
  const prices = await priceIds(j.stripe)
  const checkout = { plan_id: catalogue.plans[0]!.id, user_id: 'u_atk_new' }
  const json = { 'content-type': 'application/json', authorization: `Bearer ${API_KEY}` }
  for (const [field, value] of Object.entries({
    price: prices[catalogue.plans.at(-1)!.id], price_id: prices[catalogue.plans.at(-1)!.id], customer: customers[0]!.customerId, amount: 1, unit_amount: 1,
    success_url: 'https://evil.example/steal', cancel_url: 'https://evil.example/', return_url: '//evil.example', metadata: { user_id: 'u_atk_0' }, card: CARD
  })) {
    await attack(`create-checkout with client-supplied ${field}`, 400, () => post('/api/v1/create-checkout', JSON.stringify({ ...checkout, [field]: value }), json))
  }
  await attack('billing-portal with a client-supplied return_url', 400, () => post('/api/v1/billing-portal', JSON.stringify({ user_id: 'u_atk_0', return_url: 'https://evil.example/' }), json))
  await attack('change-plan with a client-supplied price', 400, () => post('/api/v1/subscriptions/change-plan', JSON.stringify({ user_id: 'u_atk_0', plan_id: 'pro', price: prices.starter }), json))
  for (const [what, id] of Object.entries({ 'path traversal': '..%2F..%2Fetc%2Fpasswd', 'dot segments': '..', 'SQL metacharacters': encodeURIComponent("u' OR '1'='1' --"), 'a 10 kB id': 'u'.repeat(10_240), 'a NUL byte': 'u%00x' })) {
    const want = id.length > 256 ? 414 : 400
    await attack(`entitlements with ${what} in the id`, what === 'dot segments' ? 404 : want, () => get(`/api/v1/entitlements/${id}`))
    await attack(`checkout status with ${what} in the id`, what === 'dot segments' ? 404 : want, () => get(`/api/v1/checkout/${id}`))
  }
  await attack('create-checkout with SQL in user_id', 400, () => post('/api/v1/create-checkout', JSON.stringify({ ...checkout, user_id: "x'); drop table customers; --" }), json))
  await attack('create-checkout with a 10 kB user_id', 400, () => post('/api/v1/create-checkout', JSON.stringify({ ...checkout, user_id: 'u'.repeat(10_240) }), json))
  await attack('create-checkout as text/plain', [400, 415], () => post('/api/v1/create-checkout', JSON.stringify(checkout), { ...json, 'content-type': 'text/plain' }))
  await attack('create-checkout with broken JSON', 400, () => post('/api/v1/create-checkout', '{"plan_id":', json))

  // Open redirect: a legitimate checkout's URLs are the configured APP_URL's, whatever the client sent before.
  const res = await fetch(`${j.api}/api/v1/create-checkout`, { method: 'POST', body: JSON.stringify(checkout), headers: json })
  t.equal(res.status, 200, 'a legitimate checkout still works')
  const session = j.emulator.ctx.store.get('checkout_sessions', (await res.json()).session_id) as Record<string, any>
  t.ok(String(session.success_url).startsWith(`${j.appUrl}/`) && String(session.cancel_url).startsWith(`${j.appUrl}/`), 'success and cancel URLs come from APP_URL')

  // A replayed valid event: acknowledged each time, applied once.
  const replay = new Sender(webhook)
  const valid = { ...event, id: `evt_replay${Date.now()}` }
  for (let i = 0; i < 5; i++) await replay.deliver(valid)
  await settle(j, replay.acked)
  report(t, await tally(j, replay, customers, { scenario: 'replayed valid event ×5', notes: 'one row, state unchanged' }))

  const slowMs = await slow
  t.ok(slowMs < 20_000, `a client trickling its body was cut off after ${slowMs} ms`)

  const logs = j.logs.join('')
  const leaks = {
    'API key': logs.includes(API_KEY), 'admin token': logs.includes(ADMIN_TOKEN), 'webhook secret': logs.includes(WEBHOOK_SECRET),
    signature: /v1=[0-9a-f]{64}/.test(logs), 'card number': cardLike(logs), email: /[A-Za-z0-9._%+-]+@example\.test/.test(logs)
  }
  if (process.env.TOLLGATE_FAULT_LOGS) writeFileSync(process.env.TOLLGATE_FAULT_LOGS, logs)
  t.same(Object.entries(leaks).filter(([, leaked]) => leaked).map(([what]) => what), [], `no secret, signature, card number or email in ${logs.length} bytes of logs`)
  const wrong = results.filter(r => ![r.want].flat().includes(r.status))
  const row = {
    scenario: 'attacks and bad input', sent: results.length, deliveries: results.length, acknowledged: results.filter(r => r.status < 300).length, applied: 0,
    lost: 0, duplicated: 0, unexpected: wrong.length + changes + Object.values(leaks).filter(Boolean).length, emailsExpected: 0, emailsSent: 0,
    notes: `statuses: ${[...new Set(results.map(r => r.status))].sort().join('/')}; slow client cut after ${(slowMs / 1000).toFixed(1)} s; 20 MB → 413 in ${bigMs} ms; no secret in ${Math.round(logs.length / 1024)} kB of logs${wrong.length ? `; wrong: ${wrong.map(w => `${w.attack}=${w.status}`).join(', ')}` : ''}`
  }
  report(t, row)
})
