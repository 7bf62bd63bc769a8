// Stripe's test cards, by PaymentMethod token (`pm_card_…`), card token (`tok_…`) and number, and
// what each does when attached, set up and charged.

export interface Decline {
  code: string
  decline_code?: string
  message: string
}

/** What confirming a payment with the card does. */
export type ChargeBehaviour = 'succeeds' | 'authenticates' | Decline

export interface TestCard {
  name: string
  number: string
  brand: string
  funding: 'credit' | 'debit'
  country: string
  charge: ChargeBehaviour
  /** Attaching (and setting up) the card: most succeed; declining cards are refused up front. */
  setup: 'succeeds' | 'authenticates' | Decline
}

const GENERIC: Decline = { code: 'card_declined', decline_code: 'generic_decline', message: 'Your card was declined.' }
const INSUFFICIENT: Decline = { code: 'card_declined', decline_code: 'insufficient_funds', message: 'Your card has insufficient funds.' }
const EXPIRED: Decline = { code: 'expired_card', decline_code: 'expired_card', message: 'Your card has expired.' }
const CVC: Decline = { code: 'incorrect_cvc', decline_code: 'incorrect_cvc', message: "Your card's security code is incorrect." }
const PROCESSING: Decline = { code: 'processing_error', decline_code: 'processing_error', message: 'An error occurred while processing your card. Try again in a little bit.' }
const FRAUD: Decline = { code: 'card_declined', decline_code: 'fraudulent', message: 'Your card was declined.' }
const LOST: Decline = { code: 'card_declined', decline_code: 'lost_card', message: 'Your card was declined.' }
const STOLEN: Decline = { code: 'card_declined', decline_code: 'stolen_card', message: 'Your card was declined.' }

const card = (name: string, number: string, brand: string, charge: ChargeBehaviour, setup: TestCard['setup'] = 'succeeds', funding: TestCard['funding'] = 'credit'): TestCard =>
  ({ name, number, brand, funding, country: 'US', charge, setup })

const CARDS: TestCard[] = [
  card('visa', '4242424242424242', 'visa', 'succeeds'),
  card('visa_debit', '4000056655665556', 'visa', 'succeeds', 'succeeds', 'debit'),
  card('mastercard', '5555555555554444', 'mastercard', 'succeeds'),
  card('amex', '378282246310005', 'amex', 'succeeds'),
  card('chargeDeclined', '4000000000000002', 'visa', GENERIC, GENERIC),
  card('visa_chargeDeclined', '4000000000000002', 'visa', GENERIC, GENERIC),
  card('visa_chargeDeclinedInsufficientFunds', '4000000000009995', 'visa', INSUFFICIENT, INSUFFICIENT),
  card('visa_chargeDeclinedLostCard', '4000000000009987', 'visa', LOST, LOST),
  card('visa_chargeDeclinedStolenCard', '4000000000009979', 'visa', STOLEN, STOLEN),
  // Funds available at once in Stripe; here every successful charge is.
  card('bypassPending', '4000000000000077', 'visa', 'succeeds'),
  card('chargeDeclinedInsufficientFunds', '4000000000009995', 'visa', INSUFFICIENT, INSUFFICIENT),
  card('chargeDeclinedExpiredCard', '4000000000000069', 'visa', EXPIRED, EXPIRED),
  card('chargeDeclinedIncorrectCvc', '4000000000000127', 'visa', CVC, CVC),
  card('chargeDeclinedProcessingError', '4000000000000119', 'visa', PROCESSING, PROCESSING),
  card('chargeDeclinedFraudulent', '4100000000000019', 'visa', FRAUD, FRAUD),
  // Attaches fine; every charge fails: the card for a renewal that is declined.
  card('chargeCustomerFail', '4000000000000341', 'visa', GENERIC),
  // 3-D Secure on every payment and setup, on or off session.
  card('authenticationRequired', '4000002760003184', 'visa', 'authenticates', 'authenticates'),
  card('threeDSecure2Required', '4000000000003220', 'visa', 'authenticates', 'authenticates'),
  // Authenticated once at setup; later off-session payments go through.
  card('authenticationRequiredOnSetup', '4000002500003155', 'visa', 'succeeds', 'authenticates')
]

const byToken = new Map(CARDS.flatMap((c) => [[`pm_card_${c.name}`, c], [`tok_${c.name}`, c]] as [string, TestCard][]))
// Where two tokens share a number (chargeDeclined, visa_chargeDeclined), the first names it.
const byNumber = new Map([...CARDS].reverse().map((c) => [c.number, c]))

export const VISA = byNumber.get('4242424242424242')!

/** The test card a `pm_card_…` / `tok_…` token names, if any. */
export function cardByToken (token: string): TestCard | undefined {
  return byToken.get(token)
}

export function cardByNumber (number: string): TestCard | undefined {
  return byNumber.get(number.replace(/\D/g, ''))
}

/** Looks like a Stripe test token rather than an object id. */
export const isTestToken = (id: string) => /^(pm_card_|tok_)/.test(id)

// SEPA Direct Debit test IBANs: payments stay `processing`, then succeed or fail.
export const SEPA_FAILS = new Set(['AT861904300235473202', 'DE62370400440532013001', 'IT60X0542811101000000123456'])
