import { sql } from 'drizzle-orm'
import type { Logger } from 'pino'
import type { Db } from './client.js'
import { errorLine, isMisconfigured } from './errors.js'

/**
 * One query at start and, if it fails, one line saying why: a database that does not exist is named
 * before any request or job fails on it. Never throws: a Postgres that is down may come up later,
 * and the process keeps retrying as it would after a restart.
 */
export async function reportPostgres (db: Db, log: Pick<Logger, 'error' | 'warn'>): Promise<void> {
  try {
    await db.execute(sql`select 1`)
  } catch (err) {
    if (isMisconfigured(err)) log.error(errorLine(err))
    else log.warn(errorLine(err))
  }
}
