import { existsSync, readFileSync, rmSync } from 'node:fs'
import { Cleanup, productionFlags, rssMb, sleep } from './lib/env.js'
import { startStack } from './lib/stack.js'

/**
 * The api's idle RSS as the memory scenario reads it (the compiled dist/, `npm start`'s flags or
 * BENCH_FLAGS_START, RSS from /proc 10 s after /health/ready answers), alone and quicker than
 * `BENCH_ONLY=memory npm run bench`: `npm run build`, then `nice -n 19 npx tsx test/bench/idle-rss.ts`
 * (RUNS=3 by default; prints each run and the median).
 */

const runs = Number(process.env.RUNS ?? 3)
// HEAP_STATS=1 adds an --import that answers SIGWINCH with the V8 heap's figures (a few KB more RSS).
const hook = process.env.HEAP_STATS === '1' ? new URL('./lib/heap-stats-hook.mjs', import.meta.url).pathname : undefined
const c = new Cleanup()
const mb = (b: number) => (b / 1048576).toFixed(1)
try {
  const stack = await startStack(c)
  const rss: number[] = []
  if (hook) process.env.BENCH_FLAGS_START = [...productionFlags('start'), `--import=${hook}`].join(' ')
  for (let i = 0; i < runs; i++) {
    const api = await stack.startApi('dist')
    await sleep(10_000)
    const r = rssMb(api.pid)
    rss.push(r)
    let extra = ''
    if (hook) {
      const f = `/tmp/tollgate-heap-stats-${api.pid}.json`
      rmSync(f, { force: true })
      process.kill(api.pid, 'SIGWINCH')
      const deadline = Date.now() + 5000
      while (!existsSync(f) && Date.now() < deadline) await sleep(50)
      const s = JSON.parse(readFileSync(f, 'utf8'))
      rmSync(f)
      extra = ` heapUsed ${mb(s.mem.heapUsed)} heapTotal ${mb(s.mem.heapTotal)} external ${mb(s.mem.external)} ab ${mb(s.mem.arrayBuffers)} | ` +
        Object.entries(s.spaces as Record<string, { size: number, used: number }>).filter(([, v]) => v.size > 0).map(([k, v]) => `${k.replace('_space', '')} ${mb(v.used)}/${mb(v.size)}`).join(', ')
    }
    const status = readFileSync(`/proc/${api.pid}/status`, 'utf8')
    const anon = Number(/RssAnon:\s+(\d+)/.exec(status)![1]) / 1024
    const file = Number(/RssFile:\s+(\d+)/.exec(status)![1]) / 1024
    console.log(`run ${i + 1}: RSS ${r.toFixed(1)} MB (anon ${anon.toFixed(1)}, file ${file.toFixed(1)})${extra}`)
    await api.stop()
    await stack.reset()
  }
  const sorted = [...rss].sort((a, b) => a - b)
  console.log(`median RSS ${sorted[Math.floor(sorted.length / 2)]!.toFixed(1)} MB of ${rss.map(r => r.toFixed(1)).join(', ')}`)
} finally {
  await c.run()
}
