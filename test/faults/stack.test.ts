import t from 'tap'
import postgres from 'postgres'
import { createTestPrefix, rid, waitFor } from '../helpers/env.js'
import { running, startStack, type StackRun } from '../stack/stack-process.js'
import { runWalkthrough } from '../stack/walkthrough.js'

// Opt-in with the rest of the slow part: TOLLGATE_FAULTS=all (npm run test:faults). Each case starts
// `npm run stack` afresh (about 20 s on a busy 2-core host); test/stack/walkthrough.test.ts is the
// quick part, in `npm test`.
const optedIn = process.env.TOLLGATE_FAULTS === 'all'
if (!optedIn) t.plan(0, 'opt-in: TOLLGATE_FAULTS=all (npm run test:faults)')

/** Until every process of the stack has exited and its ports are closed. */
async function allStopped (stack: StackRun, pids: number[]): Promise<void> {
  await waitFor(() => !pids.some(running), `every process (${pids.join(', ')}) to exit`, 45_000, 100)
  for (const url of [stack.api, stack.stripe, stack.mail]) await fetch(url).then(() => { throw new Error(`${url} still answers`) }, () => {})
}

if (optedIn) t.test('a second npm run stack (database emptied, Redis kept) still sends its payment-failed email', async t => {
  const database = `tollgate_t_${rid()}`
  const prefix = createTestPrefix(t)
  const outboxIds: number[][] = []
  for (const run of [1, 2]) {
    const stack = await startStack(t, { database, prefix })
    const { results } = await runWalkthrough(stack)
    const email = results.find(r => r.fragments.some(f => f.includes('$49.00')))!
    for (const fragment of email.fragments) t.ok(email.printed.includes(fragment), `run ${run}: ${fragment}`, { printed: email.printed.slice(0, 400) })
    const sql = postgres(stack.env.DATABASE_URL!, { max: 1, onnotice: () => {} })
    outboxIds.push((await sql`select id, status from email_outbox order by id`).map(r => { t.equal(r.status, 'sent', `run ${run}: row ${r.id} sent`); return Number(r.id) }))
    await sql.end()
    const pids = stack.tree()
    process.kill(stack.npm.pid!, 'SIGINT')
    await allStopped(stack, pids)
  }
  t.same(outboxIds[1], outboxIds[0], 'both runs wrote the same outbox ids: the second run reused the first run\'s ids under the same Redis')
})

const cases: Array<[string, NodeJS.Signals, (s: StackRun) => number]> = [
  ['SIGINT to npm', 'SIGINT', s => s.npm.pid!],
  ['SIGTERM to npm', 'SIGTERM', s => s.npm.pid!],
  ['SIGINT to the stack process', 'SIGINT', s => s.stackPid()],
  ['SIGTERM to the stack process', 'SIGTERM', s => s.stackPid()],
  ['SIGHUP to the stack process (its terminal closed)', 'SIGHUP', s => s.stackPid()],
  ['SIGKILL to npm: the stack\'s parent dies', 'SIGKILL', s => s.npm.pid!],
  ['SIGKILL to the stack process: its children are orphaned', 'SIGKILL', s => s.stackPid()]
]
for (const [name, signal, target] of optedIn ? cases : []) {
  t.test(`${name} stops every process of the stack`, async t => {
    const stack = await startStack(t)
    const pids = stack.tree()
    t.ok(pids.length >= 5, `npm, the stack, emulator, api and a worker are running (${pids.length})`)
    process.kill(target(stack), signal)
    await allStopped(stack, pids)
    t.pass(`all ${pids.length} processes gone, api, emulator and mail ports closed`)
  })
}
