// One error type for everything the API answers with a non-2xx; the SDK picks its exception
// class from the status (and `type` for idempotency), so both must match Stripe.
export class ApiError extends Error {
  constructor (
    readonly status: number,
    readonly type: string,
    message: string,
    readonly code?: string,
    readonly param?: string,
    readonly headers: Record<string, string> = {},
    /** Fields some errors carry besides these (a card error's decline_code, payment_intent, charge). */
    readonly extra: Record<string, unknown> = {}
  ) {
    super(message)
  }

  body (): { error: Record<string, unknown> } {
    const error: Record<string, unknown> = { message: this.message, type: this.type, ...this.extra }
    if (this.code) {
      error.code = this.code
      error.doc_url = `https://stripe.com/docs/error-codes/${this.code.replace(/_/g, '-')}`
    }
    if (this.param) error.param = this.param
    return { error }
  }
}

export const missing = (resource: string, id: string, param = 'id') =>
  new ApiError(404, 'invalid_request_error', `No such ${resource}: '${id}'`, 'resource_missing', param)

export const paramMissing = (param: string) =>
  new ApiError(400, 'invalid_request_error', `Missing required param: ${param}.`, 'parameter_missing', param)

export const paramInvalid = (param: string, message: string) =>
  new ApiError(400, 'invalid_request_error', message, 'parameter_invalid_empty', param)

export const badRequest = (message: string, param?: string, code = 'parameter_invalid') =>
  new ApiError(400, 'invalid_request_error', message, code, param)

/** A 402 the SDK raises as StripeCardError: declines, and payments that need authentication. */
export const cardError = (code: string, message: string, extra: Record<string, unknown> = {}, param?: string) =>
  new ApiError(402, 'card_error', message, code, param, {}, extra)

export const notFoundRoute = (method: string, path: string) =>
  new ApiError(404, 'invalid_request_error', `Unrecognized request URL (${method}: ${path}).`)

export const unauthorized = (message: string) =>
  new ApiError(401, 'invalid_request_error', message, undefined, undefined, {
    'WWW-Authenticate': 'Basic realm="Stripe"'
  })

export const idempotencyMismatch = (key: string) =>
  new ApiError(
    400,
    'idempotency_error',
    `Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '${key}' if you meant to execute a different request.`
  )

export function injectedFailure (status: number): ApiError {
  if (status === 429) {
    return new ApiError(429, 'rate_limit_error', 'Request rate limit exceeded. Learn more about rate limits here https://stripe.com/docs/rate-limits.', 'rate_limit')
  }
  if (status === 409) {
    return new ApiError(409, 'invalid_request_error', 'There is currently another in-progress request using this Idempotent Key. Please try again later.', 'idempotency_key_in_use')
  }
  return new ApiError(status, 'api_error', 'An unknown error occurred')
}
