import { existsSync, readFileSync } from 'node:fs'
import { parseEnv } from 'node:util'
import { configSpec, type ConfigSpec, type VarSpec } from './spec.js'

/** Raised when a variable is missing or malformed; the message names the variable, on one line. */
export class ConfigError extends Error {
  constructor (readonly variable: string, reason: string) {
    super(`Invalid configuration: ${variable} ${reason}`)
    this.name = 'ConfigError'
  }
}

type Parsed<S extends ConfigSpec> = {
  [K in keyof S]: S[K] extends { optional: true } ? ReturnType<S[K]['parse']> | undefined : ReturnType<S[K]['parse']>
}
export type Config = Parsed<typeof configSpec>

/**
 * Reads the process environment over an optional `.env` file (the environment wins, as with
 * docker compose) and validates every variable once. Nothing else in Tollgate reads `process.env`.
 */
export function loadConfig (env: NodeJS.ProcessEnv = process.env, envFile = '.env'): Config {
  const fromFile = envFile && existsSync(envFile) ? parseEnv(readFileSync(envFile, 'utf8')) : {}
  const merged: Record<string, string | undefined> = { ...fromFile, ...env }
  const out: Record<string, unknown> = {}
  for (const [name, item] of Object.entries(configSpec) as Array<[string, VarSpec<unknown>]>) {
    const raw = merged[name]
    const value = raw === undefined || raw.trim() === '' ? item.default : raw.trim()
    if (value === undefined) {
      if (item.optional) { out[name] = undefined; continue }
      throw new ConfigError(name, `is required: ${item.doc}`)
    }
    try {
      out[name] = item.parse(value)
    } catch (err) {
      throw new ConfigError(name, (err as Error).message)
    }
  }
  return out as Config
}

/**
 * For entry files only: the config, or one line naming the bad variable on stderr and exit code 1,
 * so a misconfigured container stops at once with a readable reason.
 */
export function loadConfigOrExit (): Config {
  try {
    return loadConfig()
  } catch (err) {
    console.error(err instanceof ConfigError ? err.message : err)
    process.exit(1)
  }
}
