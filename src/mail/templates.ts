import type { EmailTemplate } from '../billing/lifecycle.js'
import { portalReturnUrl } from '../billing/app-links.js'

export interface RenderedMail {
  subject: string
  text: string
  html: string
}

export interface MailContext {
  /** The product's URL (APP_URL): its /billing page opens the customer portal to update the card. */
  appUrl: string
}

type Data = Record<string, unknown>

/** One paragraph of a message: plain text, with at most one link. */
interface Paragraph { text: string, link?: string }

const day = (seconds: unknown) => (typeof seconds === 'number' ? new Date(seconds * 1000).toISOString().slice(0, 10) : null)

function money (amount: unknown, currency: unknown): string {
  const code = typeof currency === 'string' ? currency.toUpperCase() : 'USD'
  return new Intl.NumberFormat('en', { style: 'currency', currency: code }).format(Number(amount ?? 0) / 100)
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, c => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!)

/** The text and HTML parts come from the same paragraphs, so they never say different things. */
function compose (subject: string, paragraphs: Paragraph[]): RenderedMail {
  const text = paragraphs.map(p => (p.link ? `${p.text} ${p.link}` : p.text)).join('\n\n')
  const body = paragraphs.map(p => `<p>${escapeHtml(p.text)}${p.link ? ` <a href="${escapeHtml(p.link)}">${escapeHtml(p.link)}</a>` : ''}</p>`).join('\n')
  const html = `<!doctype html><html><head><meta charset="utf-8"><title>${escapeHtml(subject)}</title></head><body>\n${body}\n</body></html>`
  return { subject, text, html }
}

const templates: Record<EmailTemplate, (d: Data, c: MailContext) => RenderedMail> = {
  payment_failed: (d, c) => {
    const next = day(d.next_payment_attempt)
    return compose('Your payment did not go through', [
      { text: `We could not collect ${money(d.amount_due, d.currency)} for your subscription.` },
      { text: next ? `We will try again on ${next}. Your access continues meanwhile.` : 'We will not retry this payment automatically.' },
      { text: 'Update your card here:', link: portalReturnUrl(c.appUrl) },
      ...(typeof d.hosted_invoice_url === 'string' ? [{ text: 'Or pay this invoice now:', link: d.hosted_invoice_url }] : []),
      { text: `Invoice ${String(d.invoice_id)}, attempt ${String(d.attempt_count ?? 1)}.` }
    ])
  },
  trial_will_end: (d, c) => {
    const end = day(d.trial_end)
    const when = end ? `on ${end}` : 'soon'
    return compose('Your trial is ending soon', [
      { text: `Your trial ends ${when}.` },
      d.has_card === true
        ? { text: `Your subscription then continues and ${typeof d.amount === 'number' ? money(d.amount, d.currency) : 'its price'} will be charged to the card on file. To change or cancel it:`, link: portalReturnUrl(c.appUrl) }
        : { text: 'No card is on file, so your subscription ends with the trial. To keep it, add a card here:', link: portalReturnUrl(c.appUrl) }
    ])
  },
  usage_threshold: (d, c) => {
    const metric = String(d.metric).replace(/_/g, ' ')
    const limit = new Intl.NumberFormat('en').format(Number(d.limit))
    const resets = day(d.resets_at)
    return compose(d.percent === 100 ? `You have used all your ${metric}` : `You have used ${String(d.percent)} % of your ${metric}`, [
      { text: `Your plan includes ${limit} ${metric}; you have used ${String(d.percent)} % of them this billing period.` },
      { text: resets ? `The count starts again on ${resets}.` : 'The count starts again when your next billing period begins.' },
      { text: 'To move to a plan that includes more:', link: portalReturnUrl(c.appUrl) }
    ])
  },
  checkout_payment_failed: (d, c) => compose('Your payment did not go through', [
    { text: `Your bank did not complete the payment for your ${typeof d.plan_id === 'string' ? `${d.plan_id} ` : ''}subscription, so it has not started.` },
    { text: 'You can subscribe again with another payment method here:', link: portalReturnUrl(c.appUrl) },
    { text: `Checkout ${String(d.session_id)}.` }
  ])
}

export class UnknownTemplateError extends Error {}

/** Pure: the same outbox row always renders the same message. */
export function renderEmail (template: string, data: Data, ctx: MailContext): RenderedMail {
  const render = templates[template as EmailTemplate]
  if (!render) throw new UnknownTemplateError(`No email template "${template}"`)
  return render(data, ctx)
}
