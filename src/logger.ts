import { stdSerializers, type LoggerOptions } from 'pino'
import { redactEmailsDeep, urlForLog } from './log-redaction.js'

/**
 * Logs never carry credentials, signatures or email addresses. Redaction covers the places they can
 * appear in Fastify's request logs and in objects we log ourselves.
 */
export const redactPaths = [
  'req.headers.authorization',
  'req.headers["stripe-signature"]',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  'headers.authorization',
  'headers["stripe-signature"]',
  'email', '*.email', 'to', '*.to',
  'customer_email', '*.customer_email',
  'apiKey', '*.apiKey', 'secret', '*.secret', 'password', '*.password'
]

interface LoggedRequest {
  method: string
  url: string
  host?: string
  ip?: string
  socket?: { remotePort?: number }
}

/**
 * Fastify's request and error serializers, with the text cleaned: a user id that is an email address
 * leaves the request URL, and an address an error quotes (SMTP's "550 <ada@…>: unknown user")
 * leaves its message, stack and properties.
 */
export const serializers = {
  req: (req: LoggedRequest) => ({ method: req.method, url: urlForLog(req.url), host: req.host, remoteAddress: req.ip, remotePort: req.socket?.remotePort }),
  err: (err: unknown) => redactEmailsDeep(err instanceof Error ? stdSerializers.err(err) : err)
}

export function loggerOptions (level: string): LoggerOptions {
  return {
    level,
    redact: { paths: redactPaths, censor: '[redacted]' },
    serializers,
    base: { service: 'tollgate' }
  }
}
