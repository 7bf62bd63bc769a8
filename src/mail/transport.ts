import type { Transporter } from 'nodemailer'

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
 * nodemailer itself is loaded on the first send too: the api and the workers without the email queue
 * never send, and its ~50 modules stay out of their memory.
 */
export function createMailer (smtpUrl: string, from: string): Mailer {
  let transport: Promise<Transporter> | undefined
  const open = () => {
    transport ??= import('nodemailer').then(({ default: nodemailer }) => nodemailer.createTransport({
      url: smtpUrl,
      pool: true,
      maxConnections: 2,
      connectionTimeout: 10_000,
      greetingTimeout: 10_000,
      socketTimeout: 30_000
    }))
    return transport
  }
  return {
    async send (mail) { await (await open()).sendMail({ from, ...mail }) },
    close: () => { void transport?.then(t => t.close()) }
  }
}
