import t from 'tap'
import { renderEmail, UnknownTemplateError } from '../../src/mail/templates.js'

const ctx = { appUrl: 'http://app.example.test' }

t.test('a failed payment names the amount, the next attempt and where to pay', async t => {
  const mail = renderEmail('payment_failed', {
    invoice_id: 'in_1', amount_due: 2900, currency: 'usd', attempt_count: 2, next_payment_attempt: 1_800_000_000, hosted_invoice_url: 'https://pay.example/in_1'
  }, ctx)
  t.equal(mail.subject, 'Your payment did not go through')
  t.match(mail.text, '$29.00')
  t.match(mail.text, 'try again on 2027-01-15')
  t.match(mail.text, 'https://pay.example/in_1')
  t.match(mail.text, 'attempt 2')
  t.match(mail.text, 'Update your card here: http://app.example.test/billing', 'the portal is reached through the product')
  t.match(mail.html, '<a href="http://app.example.test/billing">', 'the HTML part has the same links')
  t.match(mail.html, '$29.00')
  const last = renderEmail('payment_failed', { invoice_id: 'in_1', amount_due: 1000, currency: 'eur', attempt_count: 4, next_payment_attempt: null, hosted_invoice_url: null }, ctx)
  t.match(last.text, 'will not retry')
  t.match(last.text, '€10.00')
  t.match(last.text, ctx.appUrl)
})

t.test('HTML parts escape what they show', async t => {
  const mail = renderEmail('payment_failed', { invoice_id: '<script>x</script>', amount_due: 100, currency: 'usd', hosted_invoice_url: 'https://pay.example/?a=1&b="2"' }, ctx)
  t.notMatch(mail.html, '<script>')
  t.match(mail.html, '&lt;script&gt;')
  t.match(mail.html, 'href="https://pay.example/?a=1&amp;b=&quot;2&quot;"')
})

t.test('a trial ending names the day, and the amount to be charged or how to add a card', async t => {
  t.match(renderEmail('trial_will_end', { trial_end: 1_800_000_000 }, ctx), { subject: /trial/, text: /2027-01-15/ })
  const charged = renderEmail('trial_will_end', { trial_end: 1_800_000_000, amount: 2900, currency: 'usd', has_card: true }, ctx)
  t.match(charged.text, /\$29\.00 will be charged/)
  t.notMatch(charged.text, /add a card/)
  const cardless = renderEmail('trial_will_end', { trial_end: 1_800_000_000, amount: 2900, currency: 'usd', has_card: false }, ctx)
  t.match(cardless.text, /No card is on file[^]*add a card here:/)
  t.notMatch(cardless.text, /will be charged/)
})

t.test('an unknown template is an error of its own (permanent for the worker)', async t => {
  let err: unknown
  try { renderEmail('nope', {}, ctx) } catch (e) { err = e }
  t.ok(err instanceof UnknownTemplateError)
})

t.test('a usage threshold names the limit, the share used and when the count starts again', async t => {
  const eighty = renderEmail('usage_threshold', { metric: 'requests_per_month', percent: 80, limit: 10_000, resets_at: 1_800_000_000 }, ctx)
  t.equal(eighty.subject, 'You have used 80 % of your requests per month')
  t.match(eighty.text, 'includes 10,000 requests per month')
  t.match(eighty.text, 'starts again on 2027-01-15')
  t.match(eighty.text, 'http://app.example.test/billing')
  const all = renderEmail('usage_threshold', { metric: 'requests_per_month', percent: 100, limit: 10_000, resets_at: null }, ctx)
  t.equal(all.subject, 'You have used all your requests per month')
  t.match(all.text, 'when your next billing period begins')
})
