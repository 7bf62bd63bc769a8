import t from 'tap'
import { toEventJob } from '../../src/stripe/webhook.js'
import { makeEvent, waitFor } from '../helpers/env.js'
import { spawnWorker } from '../helpers/worker-process.js'

t.test("a worker on a database that does not exist says so in one line, at start and for each failed job", async t => {
  const url = 'postgres://postgres@127.0.0.1:5432/tollgate_missing_for_workers'
  const worker = await spawnWorker(t, { DATABASE_URL: url, METRICS_PORT: '0' })
  const cause = 'Postgres: database \\"tollgate_missing_for_workers\\" does not exist (create it (npm run db:migrate -- --create-database), or correct DATABASE_URL)'
  await waitFor(() => worker.out.includes(`"level":50`) && worker.out.includes(`"msg":"${cause}"`), 'the start-up line', 90_000)
  const event = makeEvent('customer.subscription.updated')
  await worker.deps.queues.stripeEvents.add(event.type, toEventJob(event as never), { jobId: event.id })
  await waitFor(() => worker.out.split('\n').some(l => l.includes('"msg":"job failed"') && l.includes(`"err":"${cause}"`)), 'the failed job logged with its cause', 90_000)
  t.notMatch(worker.out, /Failed query/, 'no query text in the log')
})
