import { existsSync, readFileSync } from 'node:fs'
import { parseEnv } from 'node:util'
import { isRealStripe, placeholderReason } from './placeholders.js'
import { configSpec, type ConfigSpec, type VarSpec } from './spec.js'

export interface ConfigProblem {
  variable: string
  reason: string
  /** Required and not set at all (as opposed to set to something wrong). */
  missing: boolean
}

/** Raised when variables are missing or malformed: every problem at once, one line each. */
export class ConfigError extends Error {
  constructor (readonly problems: ConfigProblem[]) {
    super(problems.length === 1
      ? `Invalid configuration: ${problems[0]!.variable} ${problems[0]!.reason}`
      : `Invalid configuration, ${problems.length} problems:\n${problems.map(p => `  ${p.variable} ${p.reason}`).join('\n')}`)
    this.name = 'ConfigError'
  }

  /** The first variable named. */
  get variable (): string { return this.problems[0]!.variable }
}

type Parsed<S extends ConfigSpec> = {
  [K in keyof S]: S[K] extends { optional: true } ? ReturnType<S[K]['parse']> | undefined : ReturnType<S[K]['parse']>
}
export type Config = Parsed<typeof configSpec>

/**
 * Variables an earlier release read, and what replaced them: a setting that would silently stop
 * working (a limit of 3 checkouts a minute becoming the default 10) is refused with its new name.
 */
const RENAMED: Record<string, string> = {
  RATE_LIMIT_STRIPE_PER_MINUTE: 'RATE_LIMIT_USER_PER_MINUTE (per end user) and STRIPE_BUDGET_WRITES_PER_SECOND / STRIPE_BUDGET_READS_PER_SECOND (all api processes together)'
}

/**
 * Reads the process environment over an optional `.env` file (the environment wins, as with
 * docker compose) and validates every variable once, reporting every problem together. Nothing
 * else in Tollgate reads `process.env`.
 */
export function loadConfig (env: NodeJS.ProcessEnv = process.env, envFile = '.env'): Config {
  const fromFile = envFile && existsSync(envFile) ? parseEnv(readFileSync(envFile, 'utf8')) : {}
  const merged: Record<string, string | undefined> = { ...fromFile, ...env }
  const out: Record<string, unknown> = {}
  const problems: ConfigProblem[] = []
  for (const [name, item] of Object.entries(configSpec) as Array<[string, VarSpec<unknown>]>) {
    const raw = merged[name]
    const value = raw === undefined || raw.trim() === '' ? item.default : raw.trim()
    if (value === undefined) {
      if (!item.optional) problems.push({ variable: name, reason: `is required: ${item.doc}`, missing: true })
      continue
    }
    try {
      out[name] = item.parse(value)
    } catch (err) {
      problems.push({ variable: name, reason: (err as Error).message, missing: false })
    }
  }
  for (const [old, now] of Object.entries(RENAMED)) {
    if (merged[old] !== undefined && merged[old]!.trim() !== '') problems.push({ variable: old, reason: `is no longer read: set ${now} instead`, missing: false })
  }
  if (!problems.some(p => p.variable === 'STRIPE_API_BASE') && isRealStripe(out.STRIPE_API_BASE as string | undefined)) {
    for (const name of Object.keys(configSpec)) {
      const reason = typeof merged[name] === 'string' && out[name] !== undefined ? placeholderReason(name, merged[name]!) : null
      if (reason) problems.push({ variable: name, reason, missing: false })
    }
  }
  if (out.PRODUCT_WEBHOOK_URL && !out.PRODUCT_WEBHOOK_SECRET && !problems.some(p => p.variable === 'PRODUCT_WEBHOOK_SECRET')) {
    problems.push({ variable: 'PRODUCT_WEBHOOK_SECRET', reason: 'is required when PRODUCT_WEBHOOK_URL is set: the events to it are signed', missing: true })
  }
  if (problems.length) throw new ConfigError(problems)
  return out as Config
}

/** The error for a person: the problems, and where to start when nothing is configured yet. */
export function explainConfigError (err: ConfigError, envFile = '.env'): string {
  if (!err.problems.some(p => p.missing) || existsSync(envFile)) return err.message
  return `${err.message}\nNo ${envFile} in ${process.cwd()}: start from the example with \`cp .env.example .env\` and edit it, or set the variables in the environment. To try Tollgate with nothing to configure: npm run stack.`
}

/**
 * For entry files only: the config, or every problem on stderr and exit code 1, so a misconfigured
 * container stops at once with a readable reason.
 */
export function loadConfigOrExit (): Config {
  try {
    return loadConfig()
  } catch (err) {
    console.error(err instanceof ConfigError ? explainConfigError(err) : err)
    process.exit(1)
  }
}
