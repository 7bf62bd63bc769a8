/**
 * Every URL Stripe sends a customer back to is built here from `APP_URL`, never taken from a client,
 * so Tollgate cannot be used to redirect people to someone else's site.
 */
const join = (appUrl: string, path: string) => `${appUrl.replace(/\/+$/, '')}${path}`

export function checkoutUrls (appUrl: string) {
  return {
    // Stripe fills in {CHECKOUT_SESSION_ID}; the success page asks GET /api/v1/checkout/:session_id.
    success_url: join(appUrl, '/billing/success?session_id={CHECKOUT_SESSION_ID}'),
    cancel_url: join(appUrl, '/billing/cancel')
  }
}

export const portalReturnUrl = (appUrl: string) => join(appUrl, '/billing')
