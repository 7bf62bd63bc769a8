import { randomBytes } from 'node:crypto'
import { and, asc, eq, notInArray, sql } from 'drizzle-orm'
import type { Db } from './client.js'
import { productEndpoints } from './schema.js'

export type EndpointRow = typeof productEndpoints.$inferSelect

/** A new Standard Webhooks secret: `whsec_` and base64 of 32 random bytes. */
export const newSecret = () => `whsec_${randomBytes(32).toString('base64')}`

/**
 * Makes the endpoints of PRODUCT_WEBHOOK_URL match the config: each listed URL with the configured
 * secrets (left disabled if an admin or a run of failures disabled it); config endpoints no longer
 * listed are retired (disabled, no new deliveries), their history kept. Every process does this at start.
 */
export async function syncConfigEndpoints (db: Db, urls: readonly string[] = [], secrets: readonly string[] = []): Promise<void> {
  await db.transaction(async tx => {
    if (urls.length > 0) {
      await tx.insert(productEndpoints).values(urls.map(url => ({ url, secrets: [...secrets], source: 'config' as const })))
        .onConflictDoUpdate({
          target: productEndpoints.url,
          set: { secrets: [...secrets], source: 'config', enabled: sql`${productEndpoints.enabled} or ${productEndpoints.source} = 'retired'`, updatedAt: new Date() }
        })
    }
    await tx.update(productEndpoints).set({ source: 'retired', enabled: false, disabledAt: new Date(), updatedAt: new Date() })
      .where(and(eq(productEndpoints.source, 'config'), urls.length > 0 ? notInArray(productEndpoints.url, [...urls]) : undefined))
  })
}

export async function listEndpoints (db: Db): Promise<EndpointRow[]> {
  return await db.select().from(productEndpoints).orderBy(asc(productEndpoints.id))
}

export async function endpointById (db: Db, id: number): Promise<EndpointRow | null> {
  const [row] = await db.select().from(productEndpoints).where(eq(productEndpoints.id, id))
  return row ?? null
}

/** Null when the URL is taken. */
export async function addEndpoint (db: Db, url: string, secret: string): Promise<EndpointRow | null> {
  const [row] = await db.insert(productEndpoints).values({ url, secrets: [secret], source: 'admin' }).onConflictDoNothing().returning()
  return row ?? null
}

/** Enabling starts a new failure run. */
export async function setEnabled (db: Db, id: number, enabled: boolean): Promise<EndpointRow | null> {
  const [row] = await db.update(productEndpoints)
    .set({ enabled, disabledAt: enabled ? null : new Date(), ...(enabled && { failureRun: 0 }), updatedAt: new Date() })
    .where(eq(productEndpoints.id, id)).returning()
  return row ?? null
}

/** The new secret signs first; the previous one keeps signing until the next rotation (or at once is dropped). */
export async function rotateSecret (db: Db, id: number, secret: string, keepPrevious: boolean): Promise<EndpointRow | null> {
  const kept = keepPrevious ? sql`jsonb_build_array(${secret}::text) || coalesce((${productEndpoints.secrets} -> 0)::jsonb, '[]'::jsonb)` : sql`jsonb_build_array(${secret}::text)`
  // A rotation ends the previous one: only the newest old secret stays.
  const [row] = await db.update(productEndpoints).set({ secrets: sql`(${kept})`, updatedAt: new Date() })
    .where(eq(productEndpoints.id, id)).returning()
  return row ?? null
}

/** A success ends the endpoint's failure run. */
export async function endFailureRun (db: Db, id: number): Promise<void> {
  await db.update(productEndpoints).set({ failureRun: 0 }).where(and(eq(productEndpoints.id, id), sql`${productEndpoints.failureRun} > 0`))
}

/** Counts a failed attempt; true when this one disabled the endpoint. */
export async function countFailure (db: Db, id: number, maxFailures: number): Promise<boolean> {
  const [row] = await db.update(productEndpoints).set({
    failureRun: sql`${productEndpoints.failureRun} + 1`,
    enabled: sql`${productEndpoints.enabled} and ${productEndpoints.failureRun} + 1 < ${maxFailures}`,
    disabledAt: sql`case when ${productEndpoints.enabled} and ${productEndpoints.failureRun} + 1 >= ${maxFailures} then now() else ${productEndpoints.disabledAt} end`
  }).where(eq(productEndpoints.id, id)).returning({ enabled: productEndpoints.enabled, failureRun: productEndpoints.failureRun })
  return row !== undefined && !row.enabled && row.failureRun === maxFailures
}
