/**
 * Whoever imports this stops, as on SIGTERM, once the process that started it is gone. The stack
 * imports it, so that its own parent dying (npm killed, a closed terminal's shell) stops it; each
 * process the stack starts has it preloaded (`node --import`), so that a stack killed without the
 * chance to stop them (SIGKILL, a crash) leaves no api, worker or emulator behind. Linux and macOS
 * re-parent an orphan to another process, which `process.ppid` shows.
 */
const expected = Number(process.env.STACK_PID) || process.ppid
const timer = setInterval(() => {
  if (process.ppid === expected) return
  clearInterval(timer)
  process.kill(process.pid, 'SIGTERM')
}, 250)
timer.unref()
