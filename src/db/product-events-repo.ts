import { sql } from 'drizzle-orm'
import type { ProductEventWrite } from '../billing/product-events.js'
import type { Tx } from './client.js'

/** A written product event, as the after-commit step and the delivery jobs name it. */
export interface ProductEventRef { id: string, userId: string }

/**
 * Writes a batch's product events, in the transaction of the change that causes them, in one
 * statement: each user's events get the next seq numbers in list order (the apply holds the user's
 * lock, so no other transaction numbers that user's events meanwhile; the unique (user_id, seq)
 * index would refuse it otherwise); an event whose once-key is taken is left out before numbering,
 * so seqs have no gaps; and one pending delivery per endpoint (a disabled one too: its events wait
 * for it to be enabled; not a retired one) is written alongside.
 */
export async function saveProductEvents (tx: Tx, events: ProductEventWrite[]): Promise<ProductEventRef[]> {
  if (events.length === 0) return []
  const input = JSON.stringify(events.map((e, ord) => ({ ord, user_id: e.userId, type: e.type, payload: e.payload, once_key: e.onceKey })))
  const rows = await tx.execute<{ id: string, user_id: string }>(sql`
    with input as (
      select * from jsonb_to_recordset(${input}::jsonb) as i(ord int, user_id text, type text, payload jsonb, once_key text)
    ), fresh as (
      select distinct on (coalesce(i.once_key, i.ord::text)) i.* from input i
      where i.once_key is null or not exists (select 1 from product_events p where p.once_key = i.once_key)
      order by coalesce(i.once_key, i.ord::text), i.ord
    ), numbered as (
      select f.*, coalesce((select max(p.seq) from product_events p where p.user_id = f.user_id), 0)
        + row_number() over (partition by f.user_id order by f.ord) as seq
      from fresh f
    ), written as (
      insert into product_events (user_id, seq, type, payload, once_key)
      select user_id, seq, type, payload, once_key from numbered order by ord
      returning id, user_id, seq
    ), deliveries as (
      insert into product_deliveries (endpoint_id, event_id, user_id, seq)
      select e.id, w.id, w.user_id, w.seq from written w cross join product_endpoints e where e.source <> 'retired'
    )
    select id, user_id from written`)
  return [...rows].map(r => ({ id: r.id, userId: r.user_id }))
}
