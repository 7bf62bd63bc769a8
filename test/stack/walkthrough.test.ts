import t from 'tap'
import { spawn } from 'node:child_process'
import { waitFor } from '../helpers/env.js'
import { running, startStack } from './stack-process.js'
import { runWalkthrough } from './walkthrough.js'

const DEMO_ADMIN = 'demo-admin-token-0123456789'

t.test('the README walkthrough, pasted as one block against npm run stack, prints what its comments promise', async t => {
  const stack = await startStack(t)
  const { code, results } = await runWalkthrough(stack)
  t.equal(code, 0, 'the block runs to its end')
  t.ok(results.length >= 8, `the walkthrough promises results (${results.length} commands)`)
  for (const r of results) {
    for (const fragment of r.fragments) t.ok(r.printed.includes(fragment), `line ${r.from}: ${fragment}`, { printed: r.printed.slice(0, 600) })
  }

  t.test('the ready banner shows the admin side', async t => {
    const banner = stack.output().slice(stack.output().indexOf('ready'))
    t.match(banner, `admin token  ${DEMO_ADMIN}`)
    t.match(banner, `${stack.api}/admin/queues`)
    t.match(banner, `workers :${stack.ports.metrics}`)
    t.match(banner, `SMTP 127.0.0.1:${stack.ports.smtp}, inbox ${stack.mail}/`)
    const dashboard = await fetch(`${stack.api}/admin/queues`, { headers: { authorization: `Basic ${Buffer.from(`admin:${DEMO_ADMIN}`).toString('base64')}` } })
    t.equal(dashboard.status, 200, 'the queue dashboard opens with the admin token')
    t.notMatch(await dashboard.text(), /fonts\.googleapis|fonts\.gstatic/, 'and asks no font from Google')
    const metrics = await (await fetch(`http://127.0.0.1:${stack.ports.metrics}/metrics`)).text()
    t.match(metrics, /^tollgate_email_oldest_pending_seconds 0$/m, "the worker's metrics port answers")
  })

  t.test("the mail catcher's inbox page lists the email", async t => {
    const page = await (await fetch(`${stack.mail}/`)).text()
    t.match(page, /<b>Your payment did not go through<\/b> to ada@example\.com/)
    t.match(page, /We could not collect \$49\.00/)
    t.match(page, /<time>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d<\/time>/)
  })

  t.test("npm run stack -- reconcile runs with the stack's configuration", async t => {
    const child = spawn('npm', ['run', '--silent', 'stack', '--', 'reconcile', '--since', '1d'], { cwd: new URL('../..', import.meta.url).pathname, env: { PATH: process.env.PATH, HOME: process.env.HOME, STACK_ENV_FILE: stack.env.STACK_ENV_FILE }, stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    child.stdout.on('data', (c: Buffer) => { out += c })
    child.stderr.on('data', (c: Buffer) => { out += c })
    t.equal(await new Promise(resolve => child.once('exit', resolve)), 0, out)
    t.match(JSON.parse(out.slice(out.indexOf('{'))), { scanned: Number, missing: 0 }, 'it read the emulator and found nothing missing')
  })

  t.test('SIGTERM to npm stops every process of the stack', async t => {
    const pids = stack.tree()
    t.ok(pids.length >= 5, `npm, the stack, emulator, api and worker (${pids.length} processes)`)
    process.kill(stack.npm.pid!, 'SIGTERM')
    await waitFor(() => !pids.some(running), 'every process to exit', 30_000)
    await t.rejects(fetch(`${stack.api}/health/live`), 'the api port is closed')
    await t.rejects(fetch(`${stack.mail}/`), 'and the mail catcher')
  })
})
