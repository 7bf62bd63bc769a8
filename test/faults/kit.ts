import type { ChildProcess } from 'node:child_process'
import { appendFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Queue, Worker } from 'bullmq'
import type Stripe from 'stripe'
import type { Test } from 'tap'
import { loadCatalogue } from '../../src/billing/plans.js'
import { outboxMessageId } from '../../src/queue/processors/email.js'
import { MAX_STALLED_COUNT, workerName } from '../../src/queue/workers.js'
import { startJourney, type Journey, type JourneyOptions } from '../e2e/harness.js'
import { REDIS_URL, WEBHOOK_SECRET, signBody, testRedis, waitFor } from '../helpers/env.js'

type T = { teardown: (fn: () => unknown) => void, comment: (...args: unknown[]) => void }

export const catalogue = loadCatalogue()

export interface FaultStack extends Journey {
  prefix: string
  redisUrl: string
  /** Where processes paused by TOLLGATE_FAULT_PAUSE write the point they reached. */
  faultDir: string
}

/**
 * The real processes of the e2e harness, with the emulator recording events but not delivering
 * them: the test is the sender, so it knows exactly what was sent, how often and what was acknowledged.
 * The reconciliation sweep and the retention job are off so that the figures measure the webhook
 * path alone, and a test that waits for the stripe-events queue to empty finds no scheduled job in it.
 */
export async function startFaultStack (t: T, opts: JourneyOptions = {}): Promise<FaultStack> {
  const faultDir = mkdtempSync(join(tmpdir(), 'tg-faults-'))
  t.teardown(() => rmSync(faultDir, { recursive: true, force: true }))
  const j = await startJourney(t, {
    deliverWebhooks: false,
    ...opts,
    env: { RECONCILE_EVERY_SECONDS: '0', RETENTION_EVERY_SECONDS: '0', WORKER_CONCURRENCY: '4', TOLLGATE_FAULT_DIR: faultDir, ...opts.env }
  })
  return { ...j, prefix: j.env.QUEUE_PREFIX!, redisUrl: j.env.REDIS_URL ?? REDIS_URL, faultDir }
}

export interface Customer { userId: string, email: string, customerId: string, subscriptionId: string }

export async function priceIds (stripe: Stripe): Promise<Record<string, string>> {
  const list = await stripe.prices.list({ lookup_keys: catalogue.plans.map(p => p.lookup_key), limit: 100 })
  return Object.fromEntries(catalogue.plans.map(p => [p.id, list.data.find(x => x.lookup_key === p.lookup_key)!.id]))
}

/**
 * Customers who pay a hosted checkout, as Tollgate's own checkout would set them up (user id in
 * client_reference_id and both metadata). `failShare` of them have cards that fail from now on, so
 * the next renewal produces invoice.payment_failed (one email each) and past_due.
 */
export async function subscribeCustomers (j: Journey, n: number, opts: { tag: string, failShare?: number, concurrency?: number }): Promise<Customer[]> {
  const prices = await priceIds(j.stripe)
  const plans = catalogue.plans.map(p => p.id)
  const out: Customer[] = []
  await pool(Array.from({ length: n }, (_, i) => i), opts.concurrency ?? 8, async i => {
    const userId = `u_${opts.tag}_${i}`
    const email = `${userId}@example.test`
    const planId = plans[i % plans.length]!
    const session = await j.stripe.checkout.sessions.create({
      mode: 'subscription',
      line_items: [{ price: prices[planId]!, quantity: 1 }],
      customer_email: email,
      client_reference_id: userId,
      metadata: { user_id: userId, plan_id: planId },
      subscription_data: { metadata: { user_id: userId } },
      success_url: `${j.appUrl}/billing/success?session_id={CHECKOUT_SESSION_ID}`,
      cancel_url: `${j.appUrl}/billing/cancel`
    })
    const done = await j.control(`checkout/${session.id}/complete`, { outcome: 'paid' })
    if (opts.failShare && i < Math.round(n * opts.failShare)) await j.control(`customers/${done.customer}/fail-payments`, { fail: true })
    out.push({ userId, email, customerId: done.customer, subscriptionId: done.subscription })
  })
  return out
}

/** New customers (see subscribeCustomers) and the events their checkouts produced, recorded by the emulator but not yet sent. */
/** An event as the emulator stored it: whatever the API version shaped, with an id and a type. */
export type EmulatorEvent = Record<string, any> & { id: string, type: string }

export async function newBatch (j: Journey, tag: string, n: number, failShare = 0): Promise<{ customers: Customer[], events: EmulatorEvent[] }> {
  const before = new Set(emulatorEvents(j).map(e => e.id))
  const customers = await subscribeCustomers(j, n, { tag, failShare })
  return { customers, events: emulatorEvents(j).filter(e => !before.has(e.id)) }
}

/** Every event the emulator recorded, oldest first. */
export function emulatorEvents (j: Journey): EmulatorEvent[] {
  return j.emulator.ctx.store.newestFirst('events').reverse() as EmulatorEvent[]
}

export async function pool<I> (items: I[], size: number, fn: (item: I) => Promise<void>): Promise<void> {
  let next = 0
  await Promise.all(Array.from({ length: Math.min(size, items.length) }, async () => {
    while (next < items.length) await fn(items[next++]!)
  }))
}

export function shuffle<I> (items: I[], random = Math.random): I[] {
  const a = [...items]
  for (let i = a.length - 1; i > 0; i--) {
    const k = Math.floor(random() * (i + 1));
    [a[i], a[k]] = [a[k]!, a[i]!]
  }
  return a
}

/**
 * Delivers events the way Stripe does: the exact JSON bytes, signed at send time, and — when
 * `retry` — again after any non-2xx answer or broken connection, with backoff, until acknowledged.
 */
export class Sender {
  readonly sent = new Set<string>()
  readonly acked = new Set<string>()
  deliveries = 0
  statuses: Record<string, number> = {}
  /** Slowest answer seen for a non-2xx (ms): "503 within 2 s". */
  slowestRefusalMs = 0
  constructor (private readonly url: string) {}

  async deliver (event: { id: string }, opts: { retry?: boolean, maxAttempts?: number } = {}): Promise<number> {
    const body = JSON.stringify(event)
    this.sent.add(event.id)
    for (let attempt = 1; ; attempt++) {
      this.deliveries++
      const started = Date.now()
      let status = 0
      try {
        const res = await fetch(this.url, { method: 'POST', body, headers: { 'content-type': 'application/json', 'stripe-signature': signBody(body, WEBHOOK_SECRET) }, signal: AbortSignal.timeout(10_000) })
        status = res.status
        await res.arrayBuffer()
      } catch { status = 0 }
      this.statuses[status] = (this.statuses[status] ?? 0) + 1
      if (status >= 200 && status < 300) { this.acked.add(event.id); return status }
      this.slowestRefusalMs = Math.max(this.slowestRefusalMs, Date.now() - started)
      if (!opts.retry || attempt >= (opts.maxAttempts ?? 40)) return status
      await new Promise(resolve => setTimeout(resolve, Math.min(50 * 2 ** attempt, 1000)))
    }
  }
}

/** Until every acknowledged event has its row, no job waits and no email is pending. */
export async function settle (j: FaultStack, ids: Iterable<string>, timeoutMs = 60_000): Promise<void> {
  const want = [...new Set(ids)]
  await waitFor(async () => {
    const [row] = await j.sql`select count(*)::int as n from stripe_events where event_id = any(${want}) and processed_at is not null`
    if (row!.n < want.length) return false
    const [mail] = await j.sql`select count(*)::int as n from email_outbox where status = 'pending'`
    return mail!.n === 0
  }, `${want.length} events and their email to settle`, timeoutMs, 100)
}

/** The active jobs of `queue` that the worker process `child` had taken (BullMQ's `processedBy`, see workerName). */
export async function heldBy (j: FaultStack, queue: string, child: ChildProcess): Promise<Array<{ id: string, data: Record<string, unknown> }>> {
  const r = testRedis(j.redisUrl)
  try {
    const held = []
    for (const id of await r.lrange(`${j.prefix}:${queue}:active`, 0, -1)) {
      const [owner, data] = await r.hmget(`${j.prefix}:${queue}:${id}`, 'pb', 'data')
      if (owner === workerName(child.pid)) held.push({ id, data: JSON.parse(data ?? '{}') as Record<string, unknown> })
    }
    return held
  } finally { r.disconnect() }
}

/**
 * Kills nothing, waits for nothing: does what BullMQ's stalled checker does once a dead worker's
 * lock has expired (30 s in production), so that tests need not wait for it. Only the jobs the dead
 * process `child` held lose their lock; the live workers keep theirs. The same Lua script moves them
 * back to wait; only time is skipped. Returns how many jobs were recovered.
 */
export async function recoverStalled (j: FaultStack, queue: string, child: ChildProcess): Promise<number> {
  if (child.exitCode === null && child.signalCode === null) throw new Error('recoverStalled: the worker is still running')
  const held = await heldBy(j, queue, child)
  const r = testRedis(j.redisUrl)
  try {
    for (const { id } of held) await r.del(`${j.prefix}:${queue}:${id}:lock`)
    const connection = testRedis(j.redisUrl)
    // The production limit: BullMQ's default of 1 would fail a job that two kills in one run caught active.
    const checker = new Worker(queue, null, { connection, prefix: j.prefix, autorun: false, maxStalledCount: MAX_STALLED_COUNT })
    try {
      // Its start-up commands finish before close: on a cluster, one still pending when the connection
      // closes rejects unhandled and fails the test file.
      await checker.waitUntilReady()
      for (let pass = 0; pass < 2; pass++) {
        await r.del(`${j.prefix}:${queue}:stalled-check`)
        // The checker is private in BullMQ's types; it is the routine every worker runs on a timer.
        await (checker as unknown as { moveStalledJobsToWait: () => Promise<void> }).moveStalledJobsToWait()
      }
    } finally {
      await checker.close()
      connection.disconnect()
    }
    return held.length
  } finally { r.disconnect() }
}

/**
 * Local ports of the TCP connections process `pid` holds to `port` on this host, read from /proc
 * while it runs: after a kill, waiting for the server to see these close means it has read all the
 * process sent.
 */
export function connectionsTo (pid: number, port: number): number[] {
  const inodes = new Set<string>()
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const inode = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`))?.[1]
      if (inode) inodes.add(inode)
    } catch {}
  }
  const ports: number[] = []
  for (const table of ['tcp', 'tcp6']) {
    for (const line of readFileSync(`/proc/${pid}/net/${table}`, 'utf8').split('\n').slice(1)) {
      const [, local, remote, , , , , , , inode] = line.trim().split(/\s+/)
      if (inode && inodes.has(inode) && parseInt(remote!.split(':').pop()!, 16) === port) ports.push(parseInt(local!.split(':').pop()!, 16))
    }
  }
  return ports
}

/**
 * SIGKILLs a worker process and counts the emails it may legitimately send twice: messages of the
 * outbox rows whose send jobs it held that the SMTP server had accepted (by their Message-ID) and
 * Tollgate had not marked sent. Counted once the server has seen the dead process's sessions close,
 * so a message in flight at the kill is counted exactly when the server took it. Then recovers the
 * dead worker's jobs (and only those).
 */
export async function killWorker (j: FaultStack, child: ChildProcess): Promise<{ resendable: number, recovered: number }> {
  const sessions = connectionsTo(child.pid!, j.mail.smtpPort)
  await kill(child)
  await waitFor(() => sessions.every(p => !j.mail.openSessions.has(p)), 'the SMTP server to see the killed worker\'s sessions end')
  const rows = (await heldBy(j, 'email', child)).flatMap(job => (typeof job.data.outboxId === 'number' ? [job.data.outboxId] : []))
  const accepted = new Set(j.mail.messages.map(m => m.MessageID))
  const unmarked = rows.length === 0 ? [] : await j.sql<Array<{ eventId: string, template: string }>>`select event_id as "eventId", template from email_outbox where id = any(${rows}) and status <> 'sent'`
  const resendable = unmarked.filter(r => accepted.has(outboxMessageId(r, j.env.MAIL_FROM!))).length
  const recovered = (await recoverStalled(j, 'stripe-events', child)) + (await recoverStalled(j, 'email', child))
  return { resendable, recovered }
}

/**
 * Every exit of the named processes from now on, as "name code/signal". A process that dies on a
 * dependency's fault shows up here; the harness's teardown kills come after the assertions.
 */
export function watchExits (j: FaultStack, names: string[]): string[] {
  const exits: string[] = []
  for (const name of names) j.processes.get(name)!.once('exit', (code, signal) => exits.push(`${name} ${code ?? signal}`))
  return exits
}

/** How many of the finished jobs named by `ids` needed more than one attempt (jobId = event id; a finished job counts its last attempt). */
export async function retriedJobs (j: FaultStack, queue: string, ids: Iterable<string>): Promise<number> {
  const connection = testRedis(j.redisUrl)
  const q = new Queue(queue, { connection, prefix: j.prefix })
  try {
    await q.waitUntilReady()
    let retried = 0
    for (const id of ids) if (((await q.getJob(id))?.attemptsMade ?? 0) > 1) retried++
    return retried
  } finally {
    await q.close()
    connection.disconnect()
  }
}

/**
 * Until the paused process wrote the point it reached; returns the details written there. The file
 * exists a moment before its line is in it: an empty file is not an answer yet.
 */
export async function reached (j: FaultStack, point: string, timeoutMs = 30_000): Promise<string[]> {
  const file = join(j.faultDir, point)
  return await waitFor(() => {
    const written = existsSync(file) ? readFileSync(file, 'utf8') : ''
    return written.endsWith('\n') && written.trim().split('\n')
  }, `a process to pause at ${point}`, timeoutMs, 50)
}

export async function kill (child: ChildProcess, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise(resolve => child.once('exit', resolve))
  child.kill(signal)
  await exited
}

export interface Row {
  scenario: string
  sent: number
  deliveries: number
  acknowledged: number
  applied: number
  lost: number
  duplicated: number
  unexpected: number
  emailsExpected: number
  emailsSent: number
  notes?: string
}

/**
 * Counts outcomes Jepsen-style from what the processes left behind:
 * - applied: sent events with a processed row (`applied`/`ignored`) in stripe_events;
 * - lost: acknowledged events without one, plus emails owed (one per outbox row) and never received;
 * - duplicated: messages beyond one per outbox row (per recipient), and outbox rows beyond one per
 *   event and template;
 * - unexpected: events that ended `failed` without being meant to, and customers whose rows differ
 *   from the emulator's truth (subscription status and plan, entitlement status, access).
 */
export async function tally (j: FaultStack, sender: Sender, customers: Customer[], opts: {
  scenario: string
  expectFailed?: string[]
  /** Acknowledged events that may end without a row: ones of types Tollgate ignores, lost by Redis (the sweep does not list them). */
  excused?: string[]
  notes?: string
}): Promise<Row> {
  const ids = [...sender.sent]
  const rows = await j.sql`select event_id, type, outcome from stripe_events where event_id = any(${ids}) and processed_at is not null`
  const done = new Map(rows.map(r => [r.event_id as string, r]))
  const expectFailed = new Set(opts.expectFailed ?? [])
  const applied = rows.filter(r => r.outcome !== 'failed').length
  const excused = new Set(opts.excused ?? [])
  const lostEvents = [...sender.acked].filter(id => !done.has(id) && !expectFailed.has(id) && !excused.has(id))
  const failedUnexpectedly = rows.filter(r => r.outcome === 'failed' && !expectFailed.has(r.event_id)).map(r => r.event_id as string)

  const emails = new Set(customers.map(c => c.email))
  const outbox = (await j.sql`select event_id, template, "to", status from email_outbox`).filter(o => emails.has(o.to))
  const paymentFailed = new Set(rows.filter(r => r.type === 'invoice.payment_failed').map(r => r.event_id as string))
  const owedTo = new Map<string, number>()
  for (const o of outbox) owedTo.set(o.to, (owedTo.get(o.to) ?? 0) + 1)
  const gotTo = new Map<string, number>()
  for (const m of j.mail.messages) for (const to of m.To) if (emails.has(to)) gotTo.set(to, (gotTo.get(to) ?? 0) + 1)
  let lostEmails = 0
  let duplicatedEmails = 0
  for (const to of new Set([...owedTo.keys(), ...gotTo.keys()])) {
    const diff = (gotTo.get(to) ?? 0) - (owedTo.get(to) ?? 0)
    if (diff > 0) duplicatedEmails += diff
    else lostEmails -= diff
  }
  const perEventTemplate = new Map<string, number>()
  for (const o of outbox) perEventTemplate.set(`${o.event_id}/${o.template}`, (perEventTemplate.get(`${o.event_id}/${o.template}`) ?? 0) + 1)
  const duplicatedRows = [...perEventTemplate.values()].reduce((s, n) => s + n - 1, 0)
  const missingOutbox = [...paymentFailed].filter(id => !outbox.some(o => o.event_id === id)).length

  const mismatches = await stateMismatches(j, customers)
  const row: Row = {
    scenario: opts.scenario,
    sent: ids.length,
    deliveries: sender.deliveries,
    acknowledged: sender.acked.size,
    applied,
    lost: lostEvents.length + lostEmails + missingOutbox,
    duplicated: duplicatedEmails + duplicatedRows,
    unexpected: failedUnexpectedly.length + mismatches.length,
    emailsExpected: paymentFailed.size,
    emailsSent: [...gotTo.values()].reduce((s, n) => s + n, 0),
    ...(opts.notes && { notes: opts.notes })
  }
  if (lostEvents.length || failedUnexpectedly.length || mismatches.length) {
    row.notes = [row.notes, `lost: ${lostEvents.slice(0, 5).join(' ')}`, `failed: ${failedUnexpectedly.slice(0, 5).join(' ')}`, ...mismatches.slice(0, 5)].filter(Boolean).join('; ')
  }
  return row
}

/** Customers whose Tollgate rows differ from the emulator's subscription (the model of what must be true). */
export async function stateMismatches (j: Journey, customers: Customer[]): Promise<string[]> {
  if (customers.length === 0) return []
  const subs = await j.sql`select stripe_subscription_id, user_id, plan_id, status from subscriptions where user_id = any(${customers.map(c => c.userId)})`
  const ents = await j.sql`select user_id, plan_id, status, access from entitlements where user_id = any(${customers.map(c => c.userId)})`
  const subById = new Map(subs.map(s => [s.stripe_subscription_id as string, s]))
  const entByUser = new Map(ents.map(e => [e.user_id as string, e]))
  const out: string[] = []
  for (const c of customers) {
    const truth = j.emulator.ctx.store.get('subscriptions', c.subscriptionId) as Record<string, any> | undefined
    const lookupKey = truth?.items?.data?.[0]?.price?.lookup_key
    const planId = catalogue.byLookupKey(lookupKey)?.id ?? null
    const sub = subById.get(c.subscriptionId)
    const ent = entByUser.get(c.userId)
    if (!truth) { out.push(`${c.userId}: no subscription in the emulator`); continue }
    if (!sub || sub.status !== truth.status || sub.plan_id !== planId) out.push(`${c.userId}: subscription ${JSON.stringify(sub && { status: sub.status, plan: sub.plan_id })} ≠ ${truth.status}/${planId}`)
    const access = ['active', 'trialing', 'past_due'].includes(truth.status)
    if (!ent || ent.status !== truth.status || ent.access !== access || ent.plan_id !== planId) out.push(`${c.userId}: entitlement ${JSON.stringify(ent && { status: ent.status, access: ent.access, plan: ent.plan_id })} ≠ ${truth.status}/${access}/${planId}`)
  }
  return out
}

const HEADER = '| scenario | sent | deliveries | acknowledged | applied | lost | duplicated | unexpected | emails expected/sent | notes |\n|---|---|---|---|---|---|---|---|---|---|'

export function formatRow (r: Row): string {
  return `| ${r.scenario} | ${r.sent} | ${r.deliveries} | ${r.acknowledged} | ${r.applied} | ${r.lost} | ${r.duplicated} | ${r.unexpected} | ${r.emailsExpected}/${r.emailsSent} | ${r.notes ?? ''} |`
}

/**
 * Prints the scenario's row (as a TAP comment and, when TOLLGATE_FAULT_REPORT names a file, appended
 * there for docs/RELIABILITY.md) and asserts nothing was lost, doubled or unexpected.
 */
export function report (t: Test, row: Row, allowed: { duplicated?: number } = {}): void {
  const line = formatRow(row)
  t.comment(`${HEADER}\n${line}`)
  const file = process.env.TOLLGATE_FAULT_REPORT
  if (file) appendFileSync(file, `${line}\n`)
  t.equal(row.lost, 0, `${row.scenario}: nothing lost`)
  t.equal(row.duplicated, allowed.duplicated ?? 0, `${row.scenario}: duplicated effects`)
  t.equal(row.unexpected, 0, `${row.scenario}: nothing unexpected`)
}
