import { createEmulator } from './index.js'
import type { RetriesExhausted } from './context.js'

// Process entry: the only place that reads the environment and listens.
const env = process.env
const num = (v: string | undefined, fallback: number) => (v && Number.isFinite(Number(v)) ? Number(v) : fallback)

function fail (message: string): never {
  console.error(`emulator: ${message}`)
  process.exit(1)
}

const schedule = env.EMULATOR_RETRY_SCHEDULE_DAYS ? env.EMULATOR_RETRY_SCHEDULE_DAYS.split(',').map(Number) : undefined
if (schedule?.some((d) => !(d > 0))) fail('EMULATOR_RETRY_SCHEDULE_DAYS must be positive numbers of days, comma-separated (e.g. 3,5,7)')
const exhausted = env.EMULATOR_RETRIES_EXHAUSTED || undefined
if (exhausted && !['cancel', 'unpaid', 'past_due'].includes(exhausted)) fail('EMULATOR_RETRIES_EXHAUSTED must be cancel, unpaid or past_due')

const emulator = createEmulator({
  host: env.EMULATOR_HOST ?? '127.0.0.1',
  publicUrl: env.EMULATOR_PUBLIC_URL || undefined,
  webhookUrl: env.EMULATOR_WEBHOOK_URL || undefined,
  webhookSecrets: (env.EMULATOR_WEBHOOK_SECRET ?? '').split(',').map((s) => s.trim()).filter(Boolean),
  retryBaseMs: num(env.EMULATOR_RETRY_BASE_MS, 1000),
  maxAttempts: num(env.EMULATOR_MAX_ATTEMPTS, 8),
  deliveryTimeoutMs: num(env.EMULATOR_DELIVERY_TIMEOUT_MS, 10_000),
  retryScheduleDays: schedule,
  retriesExhausted: exhausted as RetriesExhausted | undefined,
  testClockAdvanceMs: num(env.EMULATOR_TEST_CLOCK_ADVANCE_MS, 0),
  asyncSettleMs: num(env.EMULATOR_ASYNC_SETTLE_MS, 1000),
  log: env.EMULATOR_LOG === '1',
  accountApiVersion: env.EMULATOR_ACCOUNT_API_VERSION || undefined
})

const url = await emulator.listen(num(env.EMULATOR_PORT, 12111))
console.log(`Stripe emulator listening on ${url}`)

let closing = false
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, async () => {
    if (closing) return
    closing = true
    await emulator.close()
    process.exit(0)
  })
}
