import type { ApplyRound } from './scenarios/apply.js'
import type { BurstResult } from './scenarios/burst.js'
import type { E2eResult } from './scenarios/e2e.js'
import type { IngestRound } from './scenarios/ingest.js'
import { LEAK_SLOPE_MB_PER_MIN, type MemoryResult } from './scenarios/memory.js'
import type { ReadRound } from './scenarios/reads.js'
import type { ConsumeRound } from './scenarios/consume.js'
import { median, spread } from './lib/load.js'

export interface ReportInput {
  results: { ingest?: IngestRound[], apply?: ApplyRound[], reads?: ReadRound[], consume?: ConsumeRound[], e2e?: E2eResult, burst?: BurstResult, memory?: MemoryResult }
  machine: { cores: number, cpu: string, node: string, redis: string, postgres: string, loadBefore: number[], loadAfter: number[], minutes: number }
  seeded: { customers: number, probes: number, events: number, types: Record<string, number>, meanSize: number }
  backlogSize: number
  rounds: number
  quick: boolean
}

const f = (x: number, d = 0) => x.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d })
const mark = (ok: boolean) => ok ? 'met' : '**missed**'

function table (head: string[], rows: string[][]): string {
  return [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...rows.map(r => `| ${r.join(' | ')} |`)].join('\n')
}

export function report ({ results, machine, seeded, backlogSize, rounds, quick }: ReportInput): { table: string, markdown: string } {
  const targets: string[][] = []
  const sections: string[] = []
  const { ingest, apply, reads, consume, e2e, burst, memory } = results

  if (ingest) {
    const rows: string[][] = []
    const pick = (t: string, c: number) => ingest.filter(r => r.target === t && r.connections === c)
    for (const c of [50, 4]) {
      for (const t of ['bare', 'api', 'naive']) {
        const rs = pick(t, c)
        if (!rs.length) continue
        rows.push([String(c), t, spread(rs.map(r => r.rps)), spread(rs.map(r => r.cpuUsPerRequest)), spread(rs.map(r => r.p50)), spread(rs.map(r => r.p99)), spread(rs.map(r => r.p999)),
          String(rs.reduce((a, r) => a + r.errors + r.timeouts, 0)), String(rs.reduce((a, r) => a + r.non2xx, 0)),
          t === 'api' ? rs.map(r => `${r.queued} / ${r.ok2xx}`).join(', ') : '–'])
      }
    }
    sections.push(`### 1. Ingest (\`POST /api/v1/webhook\`)\n\n${table(['conns', 'target', 'req/s', 'server CPU µs/req', 'p50 ms', 'p99 ms', 'p99.9 ms', 'errors', 'non-2xx', 'jobs queued / 2xx'], rows)}`)
    const api50 = median(pick('api', 50).map(r => r.rps))
    const bare50 = median(pick('bare', 50).map(r => r.rps))
    const naive50 = median(pick('naive', 50).map(r => r.rps))
    const p99 = median(pick('api', 50).map(r => r.p99))
    // autocannon stops at the deadline with up to one request per connection in flight: those the
    // api answered 200 after autocannon stopped listening are queued but not counted as 2xx.
    const queuedOk = pick('api', 50).concat(pick('api', 4)).every(r => r.queued! >= r.ok2xx && r.queued! - r.ok2xx <= r.connections)
    targets.push(['ingest vs bare (50 conns)', '≥ 0.40×', `${f(api50 / bare50, 2)}× (${f(api50)} / ${f(bare50)} req/s)`, mark(api50 / bare50 >= 0.4)])
    targets.push(['ingest p99 (50 conns)', '≤ 10 ms', `${f(p99, 1)} ms`, mark(p99 <= 10)])
    targets.push(['ingest vs naive (50 conns)', '≥ 2×', `${f(api50 / naive50, 2)}× (${f(naive50)} req/s naive)`, mark(api50 / naive50 >= 2)])
    targets.push(['ingest jobs queued = 2xx', 'equal', queuedOk ? 'every 2xx queued; extra jobs ≤ the requests in flight at the deadline' : 'differ', mark(queuedOk)])
  }

  if (apply) {
    const rows: string[][] = []
    for (const v of ['tollgate-1', 'tollgate-2', 'endpoint-2', 'minimal-2']) {
      const rs = apply.filter(r => r.variant === v)
      if (!rs.length) continue
      rows.push([v, spread(rs.map(r => r.eventsPerSec)), rs.map(r => r.drained ? `all ${f(r.events)} in ${f(r.seconds, 1)} s` : `${f(r.finished)} in ${f(r.seconds, 1)} s`).join(', '), String(rs.reduce((a, r) => a + r.failed, 0)),
        spread(rs.map(r => r.postgresCores * 100)), spread(rs.map(r => r.redisCores * 100)), spread(rs.map(r => r.workerCores * 100)), spread(rs.map(r => r.emulatorCores * 100))])
    }
    sections.push(`### 2. Apply (backlog of ${f(backlogSize)} events)\n\n${table(['workers', 'events/s', 'finished in the measured window', 'failed jobs', 'Postgres CPU % of a core', 'Redis CPU % of a core', 'worker processes CPU %', 'emulator CPU %'], rows)}\n\nOutcomes recorded by Tollgate's workers per round: ${apply.filter(r => r.outcomes).map(r => `${r.variant} r${r.round} ${JSON.stringify(r.outcomes)}`).join('; ')}.`)
    const t2 = median(apply.filter(r => r.variant === 'tollgate-2').map(r => r.eventsPerSec))
    const m2 = median(apply.filter(r => r.variant === 'minimal-2').map(r => r.eventsPerSec))
    targets.push(['apply, 2 workers', '≥ 1,500 ev/s', `${f(t2)} ev/s`, mark(t2 >= 1500)])
    targets.push(['apply vs minimal upsert (2 workers each)', '≥ 0.6×', `${f(t2 / m2, 2)}× (${f(m2)} ev/s minimal)`, mark(t2 / m2 >= 0.6)])
    const e2 = median(apply.filter(r => r.variant === 'endpoint-2').map(r => r.eventsPerSec))
    if (e2) targets.push(['apply with one product endpoint vs without (2 workers)', '≥ 0.9×', `${f(e2 / t2, 2)}× (${f(e2)} ev/s)`, mark(e2 / t2 >= 0.9)])
  }

  if (e2e) {
    sections.push(`### 3. End to end (webhook 200 → entitlement visible)\n\n${table(['offered', 'rate', 'non-2xx', 'errors', 'probes visible', 'p50 ms', 'p99 ms', 'max ms', 'webhook p99 ms'],
      [[f(e2e.offered), `${f(e2e.rate)}/s for ${f(e2e.seconds, 1)} s`, String(e2e.non2xx), String(e2e.errors), `${e2e.visible}/${e2e.probes}${e2e.late ? ` (${e2e.late} not within ${e2e.deadlineMs / 1000} s, counted as ∞)` : ''}`, f(e2e.p50, 1), f(e2e.p99, 1), f(e2e.max, 1), f(e2e.webhookP99, 1)]])}`)
    targets.push(['end to end p99 at 500 ev/s', '≤ 100 ms', `${f(e2e.p99, 1)} ms (p50 ${f(e2e.p50, 1)})`, mark(e2e.p99 <= 100 && e2e.visible === e2e.probes)])
  }

  if (reads) {
    const rows = (['bare', 'api'] as const).map(t => {
      const rs = reads.filter(r => r.target === t)
      return [t, spread(rs.map(r => r.rps)), spread(rs.map(r => r.p50)), spread(rs.map(r => r.p99)), String(rs.reduce((a, r) => a + r.errors + r.timeouts, 0)), String(rs.reduce((a, r) => a + r.non2xx, 0))]
    })
    sections.push(`### 4. Reads (\`GET /api/v1/entitlements/:user_id\`, cache hit, 50 connections)\n\n${table(['target', 'req/s', 'p50 ms', 'p99 ms', 'errors', 'non-2xx'], rows)}`)
    const api = median(reads.filter(r => r.target === 'api').map(r => r.rps))
    const bare = median(reads.filter(r => r.target === 'bare').map(r => r.rps))
    const p99 = median(reads.filter(r => r.target === 'api').map(r => r.p99))
    targets.push(['reads vs bare', '≥ 0.5×', `${f(api / bare, 2)}× (${f(api)} / ${f(bare)} req/s)`, mark(api / bare >= 0.5)])
    targets.push(['reads p99 (50 conns)', '≤ 5 ms', `${f(p99, 1)} ms`, mark(p99 <= 5)])
  }

  if (consume) {
    const rows = consume.map(r => [r.target, String(r.round), f(r.rps), f(r.p50), f(r.p99), String(r.errors + r.timeouts), String(r.non2xx),
      r.target === 'api' ? `${f(r.backlogStart!)} → ${f(r.backlogEnd!)} (max ${f(r.backlogMax!)})` : '–',
      r.target === 'api' ? `${f(r.cpuUsPerRequest)} / ${f(r.redisUsPerRequest!)} / ${f(r.drainUsPerRequest!)}` : r.target === 'floor' ? `${f(r.cpuUsPerRequest)} / ${f(r.redisUsPerRequest!)}` : f(r.cpuUsPerRequest)])
    sections.push(`### 4b. Usage (\`POST /api/v1/usage/consume\`, one unit per call over 200 users on pro, 50 connections, a worker draining the ledger)\n\n${table(['target', 'round', 'req/s', 'p50 ms', 'p99 ms', 'errors', 'non-2xx', 'ledger backlog start → end', 'µs CPU per call: server (api / redis / drain)'], rows)}`)
    const api = median(consume.filter(r => r.target === 'api').map(r => r.rps))
    const bare = median(consume.filter(r => r.target === 'bare').map(r => r.rps))
    const p99 = median(consume.filter(r => r.target === 'api').map(r => r.p99))
    const grew = consume.filter(r => r.target === 'api').some(r => r.backlogEnd! > Math.max(r.backlogStart!, 1000))
    targets.push(['consume vs bare', '≥ 0.5×', `${f(api / bare, 2)}× (${f(api)} / ${f(bare)} req/s)`, mark(api / bare >= 0.5)])
    const floor = median(consume.filter(r => r.target === 'floor').map(r => r.rps))
    if (floor) targets.push(['(its floor: the counting script alone vs bare)', '–', `${f(floor / bare, 2)}× (${f(floor)} req/s)`, '–'])
    targets.push(['consume p99 (50 conns)', '≤ 5 ms', `${f(p99, 1)} ms`, mark(p99 <= 5)])
    targets.push(['ledger keeps up with consume', 'no backlog growth', grew ? 'grew' : 'no growth', mark(!grew)])
  }

  if (burst) {
    sections.push(`### 5. Burst (${f(burst.events)} events as fast as autocannon offers them, 50 connections)\n\n${table(['events', 'ingest s', 'req/s', 'p99 ms', 'non-2xx', 'errors', 'drained after s', 'failed jobs'],
      [[f(burst.events), f(burst.ingestSeconds, 1), f(burst.rps), f(burst.p99), String(burst.non2xx), String(burst.errors), burst.drained ? f(burst.drainSeconds, 1) : `not drained: ${f(burst.done)} done after ${f(burst.drainSeconds, 1)} s`, String(burst.failed)]])}`)
    targets.push(['burst non-2xx', '0', String(burst.non2xx + burst.errors), mark(burst.non2xx + burst.errors === 0)])
    const projected = burst.drained ? burst.drainSeconds : burst.drainSeconds * burst.events / Math.max(1, burst.done)
    targets.push(['burst drained', '≤ 60 s', burst.drained ? `${f(burst.drainSeconds, 1)} s` : `not within ${f(burst.drainSeconds)} s (${f(burst.done)} of ${f(burst.events)}; at that pace ≈ ${f(projected)} s)`, mark(burst.drained && burst.drainSeconds <= 60)])
  }

  if (memory) {
    const idle = (['dist', 'tsx'] as const).map(r => [r === 'dist' ? 'dist/ (production)' : 'tsx from src/ (before)', spread(memory.startup[r]), spread(memory.idle[r].api), spread(memory.idle[r].worker)])
    const load = memory.load.map(l => [l.phase, `${f(l.rate)}/s for ${f(l.seconds)} s`, String(l.non2xx + l.errors), f(l.api), l.workers.map(w => f(w)).join(' / ')])
    let soak = ''
    if (memory.soak) {
      const s = memory.soak
      const at = (t: number) => s.samples.reduce((best, x) => Math.abs(x.t - t) < Math.abs(best.t - t) ? x : best)
      const marks = [s.warmupMinutes * 60, s.seconds / 2, s.seconds].map(at)
      soak = `\n\nSoak: ${f(s.sent)} events offered over ${f(s.seconds / 60, 1)} min (${f(s.rate)}/s; answers ${Object.entries(s.statuses).map(([k, v]) => `${k}: ${f(v)}`).join(', ')}; ${s.errors} errors), backlog ${s.drained ? 'drained' : '**not drained**'} after, ${s.failed} failed jobs. RSS (MB) at ${marks.map(m => `${f(m.t / 60, 1)} min: api ${f(m.api)}, workers ${m.workers.map(w => f(w)).join(' / ')}`).join('; ')}. Least-squares slope after the ${f(s.warmupMinutes, 1)}-minute warm-up: api ${f(s.slopes.api, 2)}, workers ${s.slopes.workers.map(w => f(w, 2)).join(' / ')} MB/min (a leak fails above ${LEAK_SLOPE_MB_PER_MIN} MB/min, ≈ 17 bytes kept per event).`
    }
    sections.push(`### 6. Memory (RSS of each service process, from /proc; node flags: api \`${memory.flags.api.join(' ') || 'none'}\`, worker \`${memory.flags.worker.join(' ') || 'none'}\`)\n\n${table(['runtime', 'api start-up ms (spawn → /health/ready)', 'api idle MB', 'worker idle MB (workers/all.ts)'], idle)}\n\n${table(['load (api + 2 workers)', 'offered', 'non-2xx + errors', 'api peak MB', 'workers peak MB'], load)}${soak}`)
    const apiIdle = median(memory.idle.dist.api)
    const workerIdle = median(memory.idle.dist.worker)
    targets.push(['api idle RSS', '≤ 120 MB', `${f(apiIdle)} MB (tsx: ${f(median(memory.idle.tsx.api))})`, mark(apiIdle <= 120)])
    targets.push(['worker idle RSS', '≤ 120 MB', `${f(workerIdle)} MB (tsx: ${f(median(memory.idle.tsx.worker))})`, mark(workerIdle <= 120)])
    const apiPeak = Math.max(...memory.load.map(l => l.api))
    const workerPeak = Math.max(...memory.load.flatMap(l => l.workers))
    targets.push(['RSS at load (peak)', '≤ 250 MB', `api ${f(apiPeak)}, workers ${f(workerPeak)} MB`, mark(apiPeak <= 250 && workerPeak <= 250)])
    if (memory.soak) {
      const worst = Math.max(memory.soak.slopes.api, ...memory.soak.slopes.workers)
      targets.push([`no growth over the ${f(memory.soak.minutes)}-minute soak`, `slope ≤ ${LEAK_SLOPE_MB_PER_MIN} MB/min`, `worst ${f(worst, 2)} MB/min`, mark(worst <= LEAK_SLOPE_MB_PER_MIN && memory.soak.drained)])
    }
  }

  const targetTable = table(['target', 'wanted', 'measured (medians)', ''], targets)
  const la = (l: number[]) => l.map(x => x.toFixed(2)).join(' / ')
  const generated = `<!-- bench:begin (generated by npm run bench; edit outside these markers) -->
Run of ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC${quick ? ' (BENCH_QUICK)' : ''}, ${rounds} rounds per measurement, ${f(machine.minutes, 1)} minutes in all.

**Machine:** ${machine.cores} cores (${machine.cpu}), Node ${machine.node}, ${machine.redis.split(' ').slice(0, 3).join(' ')}, PostgreSQL ${machine.postgres}.
Load average (1/5/15 min) before the run ${la(machine.loadBefore)}, after ${la(machine.loadAfter)}.

**Corpus:** ${seeded.customers} customers subscribed in the emulator emitted ${f(seeded.events)} handled events (${Object.entries(seeded.types).map(([k, v]) => `${k} ${v}`).join(', ')}), mean body ${f(seeded.meanSize)} bytes; ${seeded.probes} further users subscribed for the end-to-end probes.

## Results against the targets

${targetTable}

Medians over the rounds, with (min–max) in the tables below.

${sections.join('\n\n')}
<!-- bench:end -->`
  return { table: targetTable, markdown: generated }
}
