import type { EmailTemplate } from '../billing/lifecycle.js'

export interface RenderedMail {
  subject: string
  text: string
}

export interface MailContext {
  /** The product's URL (APP_URL): where the customer manages their subscription. */
  appUrl: string
}

type Data = Record<string, unknown>

const day = (seconds: unknown) => (typeof seconds === 'number' ? new Date(seconds * 1000).toISOString().slice(0, 10) : null)

function money (amount: unknown, currency: unknown): string {
  const code = typeof currency === 'string' ? currency.toUpperCase() : 'USD'
  return new Intl.NumberFormat('en', { style: 'currency', currency: code }).format(Number(amount ?? 0) / 100)
}

const templates: Record<EmailTemplate, (d: Data, c: MailContext) => RenderedMail> = {
  payment_failed: (d, c) => {
    const next = day(d.next_payment_attempt)
    return {
      subject: 'Your payment did not go through',
      text: [
        `We could not collect ${money(d.amount_due, d.currency)} for your subscription.`,
        next ? `We will try again on ${next}. Your access continues meanwhile.` : 'We will not retry this payment automatically.',
        typeof d.hosted_invoice_url === 'string' ? `Pay or update your card here: ${d.hosted_invoice_url}` : `Update your card here: ${c.appUrl}`,
        '',
        `Invoice ${String(d.invoice_id)}, attempt ${String(d.attempt_count ?? 1)}.`
      ].join('\n')
    }
  },
  trial_will_end: (d, c) => {
    const end = day(d.trial_end)
    return {
      subject: 'Your trial is ending soon',
      text: [
        end ? `Your trial ends on ${end}.` : 'Your trial ends soon.',
        'Your subscription then continues on the card on file; to change or cancel it, visit',
        c.appUrl
      ].join('\n')
    }
  }
}

export class UnknownTemplateError extends Error {}

/** Pure: the same outbox row always renders the same message. */
export function renderEmail (template: string, data: Data, ctx: MailContext): RenderedMail {
  const render = templates[template as EmailTemplate]
  if (!render) throw new UnknownTemplateError(`No email template "${template}"`)
  return render(data, ctx)
}
