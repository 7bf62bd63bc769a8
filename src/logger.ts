import type { LoggerOptions } from 'pino'

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

export function loggerOptions (level: string): LoggerOptions {
  return {
    level,
    redact: { paths: redactPaths, censor: '[redacted]' },
    base: { service: 'tollgate' }
  }
}
