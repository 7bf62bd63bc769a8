/** What an api process puts on the stripe-events queue: the verified event minus personal data. */
export interface StripeEventJob {
  event: {
    id: string
    type: string
    created: number
    /** The API version the payload is rendered in; only the pinned one is read as is (see apply-stripe-event). */
    api_version: string | null
    livemode: boolean
    data: { object: Record<string, unknown>, previous_attributes?: Record<string, unknown> }
  }
  receivedAt: number
}
