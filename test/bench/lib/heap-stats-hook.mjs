// Loaded with --import by test/bench/idle-rss.ts only: never part of a Tollgate process otherwise.
import { renameSync, writeFileSync } from 'node:fs'
import v8 from 'node:v8'
process.on('SIGWINCH', () => {
  const spaces = Object.fromEntries(v8.getHeapSpaceStatistics().map(s => [s.space_name, { size: s.space_size, used: s.space_used_size }]))
  const f = `/tmp/tollgate-heap-stats-${process.pid}.json`
  writeFileSync(f + '.tmp', JSON.stringify({ mem: process.memoryUsage(), spaces, heap: v8.getHeapStatistics() }))
  renameSync(f + '.tmp', f)
})
