import { cpus, loadavg } from 'node:os'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { execFileSync } from 'node:child_process'
import { countTypes, seedEmulator } from './lib/corpus.js'
import { Cleanup, QUICK, ROOT } from './lib/env.js'
import { startStack } from './lib/stack.js'
import { apply, type ApplyRound } from './scenarios/apply.js'
import { burst, type BurstResult } from './scenarios/burst.js'
import { consume, type ConsumeRound } from './scenarios/consume.js'
import { e2e, type E2eResult } from './scenarios/e2e.js'
import { ingest, type IngestRound } from './scenarios/ingest.js'
import { memory, type MemoryResult } from './scenarios/memory.js'
import { reads, type ReadRound } from './scenarios/reads.js'
import { report } from './report.js'

/**
 * `npm run bench`: the six throughput benchmarks against their baselines and the memory benchmark
 * (with its soak) in one run, then docs/BENCHMARKS.md. BENCH_QUICK=1 shortens rounds; BENCH_ONLY=
 * ingest,apply,reads,consume,e2e,burst,memory runs a subset (the doc is then not written); BENCH_SOAK_MINUTES
 * sets the soak (10; 0 for none); BENCH_PROFILE=api,worker1 adds --cpu-prof to those processes.
 */
const only = process.env.BENCH_ONLY?.split(',')
const runs = (name: string) => !only || only.includes(name)
const rounds = Number(process.env.BENCH_ROUNDS ?? (QUICK ? 1 : 3))
const backlogSize = Number(process.env.BENCH_BACKLOG ?? (QUICK ? 5000 : 20_000))
const log = (s: string) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${s}`)

const c = new Cleanup()
let failed = false
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, async () => { await c.run(); process.exit(130) })
const started = Date.now()
const load0 = loadavg()
try {
  const stack = await startStack(c)
  log(`stack up: database ${stack.db.name}, redis ${stack.redis.url}, emulator ${stack.emulatorUrl}`)
  const customers = Number(process.env.BENCH_CUSTOMERS ?? (QUICK ? 100 : 300))
  const probeUsers = runs('e2e') ? (QUICK ? 500 : 1500) : 0
  const seeded = await seedEmulator(stack.emulatorUrl, customers, probeUsers)
  const sizes = seeded.events.map(e => JSON.stringify(e).length)
  const meanSize = sizes.reduce((a, b) => a + b, 0) / sizes.length
  log(`seeded ${customers} customers + ${seeded.probes.length} probe users: ${seeded.events.length} events ${JSON.stringify(countTypes(seeded.events))}, mean body ${Math.round(meanSize)} B`)

  const results: { ingest?: IngestRound[], apply?: ApplyRound[], reads?: ReadRound[], consume?: ConsumeRound[], e2e?: E2eResult, burst?: BurstResult, memory?: MemoryResult } = {}
  if (runs('ingest')) results.ingest = await ingest(stack, seeded.events, rounds, log)
  if (runs('apply') || runs('reads')) results.apply = await apply(stack, seeded.events, backlogSize, runs('apply') ? rounds : 1, log)
  if (runs('reads')) results.reads = await reads(stack, seeded.users, rounds, log)
  if (runs('consume')) results.consume = await consume(stack, QUICK ? 1 : 2, log)
  if (runs('e2e')) results.e2e = await e2e(stack, seeded.events, seeded.probes, log)
  if (runs('burst')) results.burst = await burst(stack, seeded.events, log)
  if (runs('memory')) results.memory = await memory(stack, seeded.events, log)

  const machine = {
    cores: cpus().length,
    cpu: cpus()[0]?.model ?? 'unknown',
    node: process.version,
    redis: execFileSync('redis-server', ['--version']).toString().trim(),
    postgres: (await stack.sql`show server_version`)[0]!.server_version as string,
    loadBefore: load0,
    loadAfter: loadavg(),
    minutes: (Date.now() - started) / 60_000
  }
  const doc = report({ results, machine, seeded: { customers, probes: seeded.probes.length, events: seeded.events.length, types: countTypes(seeded.events), meanSize }, backlogSize, rounds, quick: QUICK })
  console.log(doc.table)
  if (!only && !QUICK) {
    // Only the generated part between the markers is replaced; the prose around it is kept.
    const file = `${ROOT}docs/BENCHMARKS.md`
    const old = existsSync(file) ? readFileSync(file, 'utf8') : ''
    const merged = /<!-- bench:begin[\s\S]*<!-- bench:end -->/.test(old)
      ? old.replace(/<!-- bench:begin[\s\S]*<!-- bench:end -->/, () => doc.markdown)
      : `# Benchmarks\n\n${doc.markdown}\n`
    writeFileSync(file, merged)
    log('wrote docs/BENCHMARKS.md')
  }
} catch (err) {
  failed = true
  console.error(err)
} finally {
  await c.run()
}
process.exit(failed ? 1 : 0)
