import t, { type Test } from 'tap'
import { CLI_TRIGGERS, type CliTrigger } from './cli-triggers.js'
import { startEmulator, startReceiver } from './helpers.js'
import { NO_CLI, stripeCli } from './stripe-cli.js'
import { waitFor } from '../helpers/env.js'

type Env = Awaited<ReturnType<typeof startEmulator>>
interface Outcome {
  trigger: CliTrigger
  code: number | null
  out: string
  delivered: boolean
  /** Answers of the emulator with a 5xx status during the trigger. */
  serverErrors: string[]
}

// Each trigger runs against an emulator of its own with one webhook endpoint, so what arrives
// there is that trigger's doing; a few run at once (each CLI run mostly waits on HTTP).
async function run (t: Test, trigger: CliTrigger): Promise<Outcome> {
  const env: Env = await startEmulator(t)
  const receiver = await startReceiver(t)
  await env.stripe.webhookEndpoints.create({ url: receiver.url, enabled_events: ['*'] })
  const cli = await stripeCli(t, env.url)
  const { code, out } = await cli.run(['trigger', trigger.event])
  // invoice.payment_succeeded is the CLI's name for the invoice.paid fixture, which emits both.
  const type = trigger.delivers ?? trigger.event
  const delivered = code === 0 && await waitFor(() => receiver.received.some(r => r.event.type === type), type, 5000).then(() => true, () => false)
  const serverErrors = [...out.matchAll(/status=(5\d\d)/g)].map(m => m[0])
  return { trigger, code, out, delivered, serverErrors }
}

t.test('stripe trigger against the emulator', { skip: NO_CLI }, async t => {
  const outcomes = new Map<string, Outcome>()
  const queue = [...CLI_TRIGGERS]
  await Promise.all([1, 2, 3, 4].map(async () => {
    for (let next = queue.shift(); next; next = queue.shift()) outcomes.set(next.event, await run(t, next))
  }))

  for (const trigger of CLI_TRIGGERS) {
    const o = outcomes.get(trigger.event)!
    // Supported or not, the emulator answers in Stripe's shape and the CLI shows why it stopped.
    t.same(o.serverErrors, [], `${trigger.event}: no 5xx from the emulator`)
    if (o.code !== 0) {
      t.match(o.out, /Trigger failed: Request failed, status=4\d\d, body=\{\s*"error": \{\s*"message": "[^"]*(Unrecognized request URL \((GET|POST|DELETE): \/v1\/[^)]+\)|supports only|param)[\s\S]*"type": "invalid_request_error"/, `${trigger.event}: the CLI shows the emulator's 4xx naming what is missing`)
    }
    if (trigger.fails) {
      // Kept exact both ways: once the emulator serves a listed trigger, this asks for its entry to go.
      t.notOk(o.delivered, `${trigger.event} is listed as failing on ${trigger.fails} but now delivers: remove its \`fails\` in cli-triggers.ts`)
    } else {
      t.equal(o.code, 0, `stripe trigger ${trigger.event} succeeds\n${o.out}`)
      t.ok(o.delivered, `stripe trigger ${trigger.event} delivers ${trigger.delivers ?? trigger.event} to the endpoint`)
    }
  }
})
