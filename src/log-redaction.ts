/**
 * Personal data that reaches log lines inside text: user ids in request URLs and addresses quoted
 * in error messages (an SMTP server rejecting `<ada@example.com>`). Field names are redacted by
 * pino's `redact` paths (logger.ts); these functions clean the text itself.
 */

export const REDACTED = '[redacted]'

/** An email address in running text: the characters an SMTP reply or an error message puts around it stop it. */
const EMAIL = /[^\s<>()[\]{}"',;:]+@[^\s<>()[\]{}"',;:]+/g

/** A user id is never logged when it looks like an address: `@`, or `%40` however often percent-encoded. */
const PERSONAL = /@|%(?:25)*40/i

export function redactEmails (text: string): string {
  return text.replace(EMAIL, REDACTED)
}

/** The user id as logs may show it: as is, unless it looks like an email address. */
export function userIdForLog (userId: string): string {
  return PERSONAL.test(userId) ? REDACTED : userId
}

/**
 * A request URL fit for a log line: every path segment and query value that looks like an email
 * address is replaced, whichever route it belongs to (a mistyped one included).
 */
export function urlForLog (url: string): string {
  const q = url.indexOf('?')
  const path = (q < 0 ? url : url.slice(0, q)).split('/').map(userIdForLog).join('/')
  if (q < 0) return path
  const query = url.slice(q + 1).split('&').map(pair => {
    const eq = pair.indexOf('=')
    return eq < 0 ? userIdForLog(pair) : `${pair.slice(0, eq)}=${userIdForLog(pair.slice(eq + 1))}`
  })
  return `${path}?${query.join('&')}`
}

/** Every string in a serialized value (an error with its SMTP response, rejected recipients, cause) with addresses redacted. */
export function redactEmailsDeep (value: unknown): unknown {
  if (typeof value === 'string') return redactEmails(value)
  if (Array.isArray(value)) return value.map(redactEmailsDeep)
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactEmailsDeep(v)]))
  return value
}
