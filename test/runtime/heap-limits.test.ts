import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import t from 'tap'

const scripts = JSON.parse(readFileSync('package.json', 'utf8')).scripts as Record<string, string>

/** V8's heap limit, MB, in a node process started with a script's node flags. */
function heapLimitMb (script: string): number {
  const flags = scripts[script]!.split(' ').slice(1).filter(w => w.startsWith('--'))
  const r = spawnSync(process.execPath, [...flags, '-p', 'require("node:v8").getHeapStatistics().heap_size_limit'], { encoding: 'utf8' })
  if (r.status !== 0) throw new Error(r.stderr)
  return Number(r.stdout) / 1024 / 1024
}

// With the default limit (about 4 GB) V8 lets the old generation grow to several times the live
// heap before collecting it, which is what keeps the api and workers above their memory targets
// (docs/BENCHMARKS.md, "Memory and runtime").
t.test('the api and the workers run with a bounded heap', async t => {
  for (const script of ['start', 'worker']) {
    const mb = heapLimitMb(script)
    t.ok(mb <= 256, `npm run ${script}: heap limit ${Math.round(mb)} MB`)
    t.ok(mb >= 192, `npm run ${script}: at least 192 MB, three times the live heap at the benchmark's load`)
  }
})
