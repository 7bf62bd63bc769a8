import nodemailer from 'nodemailer'

export interface OutgoingMail {
  to: string
  subject: string
  text: string
  html: string
  /** Stable per outbox row, so a resend after a crash is recognisably the same message. */
  messageId: string
}

export interface Mailer {
  send: (mail: OutgoingMail) => Promise<void>
  close: () => void
}

/**
 * SMTP through nodemailer. It connects on the first send, not here, so building deps never waits
 * for the mail server; the pool keeps a couple of connections open for a burst of lifecycle email.
 */
export function createMailer (smtpUrl: string, from: string): Mailer {
  const transport = nodemailer.createTransport({
    url: smtpUrl,
    pool: true,
    maxConnections: 2,
    connectionTimeout: 10_000,
    greetingTimeout: 10_000,
    socketTimeout: 30_000
  })
  return {
    async send (mail) { await transport.sendMail({ from, ...mail }) },
    close: () => transport.close()
  }
}
