import { and, desc, eq, gte, lt, lte, sql } from 'drizzle-orm'
import type { Db } from './client.js'
import { productDeliveries, productDeliveryAttempts, productEndpoints, productEvents } from './schema.js'

/** One event at one endpoint, with what sending it needs. */
export interface DeliveryTarget {
  endpointId: number
  eventId: string
  userId: string
  seq: number
  status: 'pending' | 'delivered' | 'failed'
  /** When the delivery became pending (made, or replayed): an attempt settles only that one. */
  pendingSince: Date
  url: string
  secrets: string[]
  enabled: boolean
  payload: Record<string, unknown>
  createdAt: Date
}

export async function deliveryTarget (db: Db, endpointId: number, eventId: string): Promise<DeliveryTarget | null> {
  const [row] = await db.select({
    endpointId: productDeliveries.endpointId,
    eventId: productDeliveries.eventId,
    userId: productDeliveries.userId,
    seq: productDeliveries.seq,
    status: productDeliveries.status,
    pendingSince: productDeliveries.createdAt,
    url: productEndpoints.url,
    secrets: productEndpoints.secrets,
    enabled: productEndpoints.enabled,
    payload: productEvents.payload,
    createdAt: productEvents.createdAt
  }).from(productDeliveries)
    .innerJoin(productEndpoints, eq(productEndpoints.id, productDeliveries.endpointId))
    .innerJoin(productEvents, eq(productEvents.id, productDeliveries.eventId))
    .where(and(eq(productDeliveries.endpointId, endpointId), eq(productDeliveries.eventId, eventId)))
  return row ?? null
}

/** Whether an earlier event of the user still waits at this endpoint: then this one must wait too. */
export async function earlierPending (db: Db, t: Pick<DeliveryTarget, 'endpointId' | 'userId' | 'seq'>): Promise<boolean> {
  const [row] = await db.select({ seq: productDeliveries.seq }).from(productDeliveries)
    .where(and(eq(productDeliveries.endpointId, t.endpointId), eq(productDeliveries.userId, t.userId), eq(productDeliveries.status, 'pending'), lt(productDeliveries.seq, t.seq)))
    .limit(1)
  return row !== undefined
}

export interface AttemptLog {
  endpointId: number
  eventId: string
  status: number | null
  ok: boolean
  latencyMs: number
  response: string | null
}

/**
 * Logs an attempt and settles the delivery with it: delivered on success, failed after the last
 * attempt. The log numbers the endpoint's attempts at the delivery, 1 for the first since it was made
 * or replayed, from the delivery's own count: a job attempt that failed before it sent (the database
 * unreachable, say) leaves no gap. Only the delivery the attempt was made for is settled: a replay
 * while it ran made the delivery pending again (since a later moment), and that replay still has to go.
 */
export async function recordAttempt (db: Db, log: AttemptLog, settle: 'delivered' | 'failed' | null, pendingSince: Date): Promise<void> {
  const delivery = and(eq(productDeliveries.endpointId, log.endpointId), eq(productDeliveries.eventId, log.eventId))
  await db.transaction(async tx => {
    const [row] = await tx.update(productDeliveries).set({ attempts: sql`${productDeliveries.attempts} + 1` })
      .where(delivery).returning({ attempts: productDeliveries.attempts })
    if (settle) {
      await tx.update(productDeliveries).set({ status: settle, ...(settle === 'delivered' && { deliveredAt: new Date() }) })
        .where(and(delivery, sql`date_trunc('milliseconds', ${productDeliveries.createdAt}) = ${pendingSince.toISOString()}::timestamptz`))
    }
    await tx.insert(productDeliveryAttempts).values({ ...log, attempt: row?.attempts ?? 1 })
  })
}

/** A user's lowest pending delivery at one endpoint: the only one of theirs that may be in flight there. */
export interface DeliveryHead { endpointId: number, eventId: string, userId: string, seq: number }

/** The heads of these users (all users when unset) at every enabled endpoint (or the one given). */
export async function deliveryHeads (db: Db, opts: { userIds?: string[], endpointId?: number, olderThan?: Date, limit?: number } = {}): Promise<DeliveryHead[]> {
  const users = opts.userIds ? sql`and d.user_id in (select jsonb_array_elements_text(${JSON.stringify(opts.userIds)}::jsonb))` : sql``
  const endpoint = opts.endpointId === undefined ? sql`` : sql`and d.endpoint_id = ${opts.endpointId}`
  const age = opts.olderThan ? sql`and d.created_at < ${opts.olderThan.toISOString()}::timestamptz` : sql``
  const rows = await db.execute<{ endpoint_id: string, event_id: string, user_id: string, seq: string }>(sql`
    select distinct on (d.endpoint_id, d.user_id) d.endpoint_id, d.event_id, d.user_id, d.seq
    from product_deliveries d join product_endpoints e on e.id = d.endpoint_id
    where d.status = 'pending' and e.enabled ${users} ${endpoint} ${age}
    order by d.endpoint_id, d.user_id, d.seq
    limit ${opts.limit ?? 10_000}`)
  return [...rows].map(r => ({ endpointId: Number(r.endpoint_id), eventId: r.event_id, userId: r.user_id, seq: Number(r.seq) }))
}

/**
 * Sends events again: one (`eventId`) or those written in [from, to], to every enabled endpoint
 * (or the one given), with the same `webhook-id`. A delivery row is reset to pending, or written
 * for an endpoint that was added or enabled after the event. Returns the users concerned.
 */
export async function replayDeliveries (db: Db, opts: { eventId?: string, from?: Date, to?: Date, endpointId?: number }): Promise<{ events: number, users: string[] }> {
  const where = and(
    opts.eventId ? eq(productEvents.id, opts.eventId) : undefined,
    opts.from ? gte(productEvents.createdAt, opts.from) : undefined,
    opts.to ? lte(productEvents.createdAt, opts.to) : undefined
  )
  const endpoint = opts.endpointId === undefined ? sql`` : sql`and e.id = ${opts.endpointId}`
  const rows = await db.execute<{ user_id: string, event_id: string }>(sql`
    insert into product_deliveries (endpoint_id, event_id, user_id, seq)
    select e.id, product_events.id, product_events.user_id, product_events.seq from product_events cross join product_endpoints e
    where e.enabled ${endpoint} and ${where ?? sql`true`}
    on conflict (endpoint_id, event_id) do update set status = 'pending', delivered_at = null, attempts = 0,
      created_at = greatest(now(), product_deliveries.created_at + interval '1 millisecond')
    returning user_id, event_id`)
  const list = [...rows]
  return { events: new Set(list.map(r => r.event_id)).size, users: [...new Set(list.map(r => r.user_id))] }
}

export interface AttemptView {
  id: number
  endpointId: number
  eventId: string
  type: string
  userId: string
  seq: number
  attempt: number
  status: number | null
  ok: boolean
  latencyMs: number
  response: string | null
  at: Date
}

/** The attempt log, newest first; filtered by event or endpoint. */
export async function listAttempts (db: Db, opts: { eventId?: string, endpointId?: number, limit: number }): Promise<AttemptView[]> {
  const a = productDeliveryAttempts
  return await db.select({
    id: a.id, endpointId: a.endpointId, eventId: a.eventId, type: productEvents.type, userId: productEvents.userId, seq: productEvents.seq,
    attempt: a.attempt, status: a.status, ok: a.ok, latencyMs: a.latencyMs, response: a.response, at: a.at
  }).from(a).innerJoin(productEvents, eq(productEvents.id, a.eventId))
    .where(and(opts.eventId ? eq(a.eventId, opts.eventId) : undefined, opts.endpointId === undefined ? undefined : eq(a.endpointId, opts.endpointId)))
    .orderBy(desc(a.id)).limit(opts.limit)
}
