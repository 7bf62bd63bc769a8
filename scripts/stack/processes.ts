import { spawn, type ChildProcess } from 'node:child_process'
import { createInterface } from 'node:readline'
import pinoPretty from 'pino-pretty'

const COLOURS = [36, 33, 35, 32, 34, 91, 96, 93]
const useColour = Boolean(process.stdout.isTTY) && !process.env.NO_COLOR
// Preloaded into every child: it stops when the stack is gone, however the stack died.
const EXIT_WITH_PARENT = new URL('./exit-with-parent.ts', import.meta.url).href

/** `node --import tsx <file>` with the parent guard, told which process is its stack. */
function spawnNode (file: string, env: NodeJS.ProcessEnv, detached: boolean): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', '--import', EXIT_WITH_PARENT, file], {
    env: { ...env, STACK_PID: String(process.pid) },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached
  })
}

/**
 * The stack's child processes: each a `node --import tsx <file>` with its output prefixed by its name,
 * pino JSON lines made readable, and a stop that SIGTERMs everything and waits for it to exit. Each
 * child also stops by itself once the stack is gone (exit-with-parent.ts).
 */
export class ProcessGroup {
  private readonly children = new Map<string, ChildProcess>()
  private readonly colours = new Map<string, number>()
  private readonly pretty = pinoPretty.prettyFactory({ colorize: useColour, translateTime: 'HH:MM:ss', singleLine: true, ignore: 'pid,hostname,service' })
  private stopping = false
  failed = false
  onUnexpectedExit?: (name: string, code: number | null) => void

  print (name: string, text: string): void {
    if (!this.colours.has(name)) this.colours.set(name, COLOURS[this.colours.size % COLOURS.length])
    const label = `[${name}]`.padEnd(12)
    const tag = useColour ? `\x1b[${this.colours.get(name)}m${label}\x1b[0m` : label
    for (const line of text.replace(/\n+$/, '').split('\n')) process.stdout.write(`${tag} ${line}\n`)
  }

  /** Starts a long-running process; its exit before stopAll() is reported to onUnexpectedExit. */
  start (name: string, file: string, env: NodeJS.ProcessEnv): ChildProcess {
    // Own process group: Ctrl-C reaches only this script, which then stops the children in order.
    const child = spawnNode(file, env, true)
    this.children.set(name, child)
    for (const stream of [child.stdout!, child.stderr!]) {
      createInterface({ input: stream }).on('line', line => this.print(name, this.format(line)))
    }
    child.once('exit', code => {
      this.children.delete(name)
      if (!this.stopping) {
        this.failed = true
        this.onUnexpectedExit?.(name, code)
      }
    })
    return child
  }

  /** Runs a one-shot process (migrations, bootstrap) to completion; rejects on a non-zero exit. */
  async run (name: string, file: string, env: NodeJS.ProcessEnv): Promise<void> {
    const child = spawnNode(file, env, false)
    for (const stream of [child.stdout!, child.stderr!]) createInterface({ input: stream }).on('line', line => this.print(name, this.format(line)))
    const code = await new Promise<number | null>(resolve => child.once('exit', resolve))
    if (code !== 0) throw new Error(`${name} failed (exit ${code})`)
  }

  /** SIGTERM to every child (they shut down gracefully), SIGKILL to any still running after the deadline. */
  async stopAll (deadlineMs = 15_000): Promise<void> {
    this.stopping = true
    const running = [...this.children.values()].filter(c => c.exitCode === null && c.signalCode === null)
    await Promise.all(running.map(async child => {
      const exited = new Promise(resolve => child.once('exit', resolve))
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), deadlineMs)
      await exited
      clearTimeout(timer)
    }))
  }

  /** Last resort when the stack itself dies: the children run detached and would outlive it. */
  killNow (): void {
    for (const child of this.children.values()) child.kill('SIGKILL')
  }

  private format (line: string): string {
    if (!line.startsWith('{')) return line
    try {
      return this.pretty(JSON.parse(line)).replace(/\n$/, '')
    } catch {
      return line
    }
  }
}
