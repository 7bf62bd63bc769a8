import { badRequest } from '../wire/errors.js'

// The version the emulator's objects are built in (its templates and billing code). The API
// answers in it whatever Stripe-Version a request asks for; events are rendered down from it.
export const LATEST_VERSION = '2026-10-28.endive'

// Each release's first date: a version is `<date>.<release>` with the date inside its release.
// Versions before the first one here changed shapes the emulator does not render.
const RELEASES: Array<[string, string]> = [
  ['2024-09-30', 'acacia'],
  ['2025-03-31', 'basil'],
  ['2025-09-30', 'clover'],
  ['2026-03-25', 'dahlia'],
  ['2026-09-30', 'endive']
]

export const OLDEST_VERSION = `${RELEASES[0]![0]}.${RELEASES[0]![1]}`

const dateOf = (version: string) => version.slice(0, 10)

/** Negative when a is older than b; versions order by their date. */
export function compareVersions (a: string, b: string): number {
  return dateOf(a) < dateOf(b) ? -1 : dateOf(a) > dateOf(b) ? 1 : 0
}

export function isSupportedVersion (version: string): boolean {
  const m = /^(\d{4}-\d{2}-\d{2})\.([a-z]+)$/.exec(version)
  if (!m || Number.isNaN(Date.parse(m[1]!))) return false
  if (compareVersions(version, OLDEST_VERSION) < 0 || compareVersions(version, LATEST_VERSION) > 0) return false
  const release = RELEASES.filter(([start]) => start <= m[1]!).pop()
  return release?.[1] === m[2]
}

/** The version itself, or a 400 naming the versions the emulator renders. */
export function requireSupportedVersion (version: string, param: string): string {
  if (isSupportedVersion(version)) return version
  throw badRequest(
    `Invalid ${param}: ${version}. The emulator renders API versions from ${OLDEST_VERSION} to ${LATEST_VERSION} (a date and its release name, e.g. 2025-02-24.acacia).`,
    param
  )
}
