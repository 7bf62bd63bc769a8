export { createApi, DEFAULT_TIMEOUT_MS, type ApiOptions, type TollgateApi, type paths } from './client.js'
export { createTollgate, TollgateUnavailableError, type Entitlement, type FailureMode, type Tollgate, type TollgateOptions, type UsageAnswer, type UsageVerdict, type Verdict } from './entitlements.js'
