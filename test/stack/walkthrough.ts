import { spawn } from 'node:child_process'
import { readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { rid } from '../helpers/env.js'
import type { StackRun } from './stack-process.js'

/** The README's curl walkthrough: the first `sh` block under its heading, exactly as a reader copies it. */
export function readmeWalkthrough (readme = new URL('../../README.md', import.meta.url)): string {
  const text = readFileSync(readme, 'utf8')
  const at = text.indexOf('### Walk through it with curl')
  if (at < 0) throw new Error('README.md has no "Walk through it with curl" section')
  const block = /```sh\n([\s\S]*?)```/.exec(text.slice(at))
  if (!block) throw new Error('the walkthrough section has no sh block')
  return block[1]!
}

export interface PromisedOutput {
  /** First and last line (1-based) of the command the comment belongs to. */
  from: number
  to: number
  command: string
  /** `"key":value` fragments appear verbatim in the command's output; plain `"text"` appears as text. */
  fragments: string[]
}

const FRAGMENT = /"[^"]*"(?::(?:"[^"]*"|true|false|null|-?\d+))?/g

/** Every command with a trailing comment that quotes what it prints, such as `# "plan_id":"pro"`. */
export function promisesOf (script: string): PromisedOutput[] {
  const lines = script.split('\n')
  const out: PromisedOutput[] = []
  let from = 1
  lines.forEach((line, i) => {
    const continued = /\\$/.test(line)
    const comment = /\s#\s(.*)$/.exec(line)
    if (!line.trimStart().startsWith('#') && comment) {
      const fragments = (comment[1]!.match(FRAGMENT) ?? []).map(f => (f.includes('":') ? f : f.slice(1, -1)))
      if (fragments.length) out.push({ from, to: i + 1, command: lines.slice(from - 1, i + 1).join('\n'), fragments })
    }
    if (!continued) from = i + 2
  })
  return out
}

/** The script with bash tracing on, each trace naming its line (the added first line is subtracted again). */
export function traced (script: string): string {
  return `exec 2>&1; PS4='+@\${LINENO}@ '; set -x\n${script}`
}

/** A traced run's output cut at each trace: what was printed after the command on `line` started. */
export function outputByLine (output: string): Array<{ line: number, text: string }> {
  const parts = output.split(/\++@(\d+)@ [^\n]*\n/)
  const out: Array<{ line: number, text: string }> = []
  for (let i = 1; i < parts.length; i += 2) out.push({ line: Number(parts[i]) - 1, text: parts[i + 1] ?? '' })
  return out
}

/**
 * What a promised command printed: from its first trace to the trace of a later line (traces of a
 * function defined above, wait_for, belong to the command that called it).
 */
export function outputOf (p: PromisedOutput, byLine: Array<{ line: number, text: string }>): string {
  let text = ''
  for (let i = byLine.findIndex(o => o.line >= p.from && o.line <= p.to); i >= 0 && i < byLine.length && byLine[i]!.line <= p.to; i++) text += byLine[i]!.text
  return text
}

/** Runs a bash script to its end; answers its exit code and output (stdout and stderr as one). */
export async function bash (script: string, timeoutMs = 120_000): Promise<{ code: number | null, out: string }> {
  const file = join(tmpdir(), `tollgate-walkthrough-${rid()}.sh`)
  writeFileSync(file, script)
  const child = spawn('bash', [file], { stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  child.stdout.on('data', (c: Buffer) => { out += c })
  child.stderr.on('data', (c: Buffer) => { out += c })
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
  const code = await new Promise<number | null>(resolve => child.once('exit', resolve))
  clearTimeout(timer)
  rmSync(file, { force: true })
  return { code, out }
}

/** The README block with the demo's ports swapped for this stack's. */
export const forStack = (script: string, stack: StackRun) => script
  .replaceAll('localhost:3000', `127.0.0.1:${stack.ports.api}`)
  .replaceAll('localhost:12111', `127.0.0.1:${stack.ports.emulator}`)
  .replaceAll('localhost:8025', `127.0.0.1:${stack.ports.mail}`)

/** The README walkthrough run as one script against `stack`: its exit code and what each promised command printed. */
export async function runWalkthrough (stack: StackRun) {
  const script = forStack(readmeWalkthrough(), stack)
  const { code, out } = await bash(traced(script))
  const byLine = outputByLine(out)
  return { code, out, results: promisesOf(script).map(p => ({ ...p, printed: outputOf(p, byLine) })) }
}
