import { reconcileEvents } from '../src/billing/use-cases/reconcile-events.js'
import { createDeps } from '../src/deps.js'
import { waitReady } from '../src/queue/connections.js'
import { runScript } from './cli.js'

/**
 * `npm run reconcile -- --since 7d`: queue every handled Stripe event of the period that Postgres
 * has no record of (running workers apply them). Unlike the scheduled sweep it does not move the
 * sweep cursor. `--since` takes 30m, 12h, 7d (Stripe keeps events 30 days) or an ISO date.
 */
function parseSince (raw: string | undefined): number {
  const value = raw ?? '3d'
  const m = /^(\d+)([smhd])$/.exec(value)
  if (m) return Math.floor(Date.now() / 1000) - Number(m[1]) * { s: 1, m: 60, h: 3600, d: 86_400 }[m[2] as 's' | 'm' | 'h' | 'd']
  const at = Date.parse(value)
  if (Number.isNaN(at)) throw new Error(`--since must look like 30m, 12h, 7d or an ISO date, got "${value}"`)
  return Math.floor(at / 1000)
}

await runScript('reconcile', async config => {
  const args = process.argv.slice(2)
  const flag = args.indexOf('--since')
  const since = parseSince(flag >= 0 ? args[flag + 1] : undefined)
  const deps = createDeps(config)
  try {
    // Ready before use, and so before close: closing a connection still in its handshake crashes BullMQ.
    await waitReady(deps.redis, 10_000)
    const result = await reconcileEvents(deps, since)
    console.log(JSON.stringify({ since: new Date(since * 1000).toISOString(), scanned: result.scanned, missing: result.missing, queued: result.queued }, null, 2))
  } finally {
    await deps.close()
  }
})
