import { appendFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/**
 * Named moments on the event path where the fault suite (test/faults, docs/RELIABILITY.md) kills a
 * process: after the api queued an event but before it answered, inside the apply transaction just
 * before commit, right after commit, after the SMTP server accepted a message but before the
 * outbox row is marked sent, after a product endpoint accepted an event but before that is recorded,
 * after Stripe took a usage overage meter event but before its report is marked sent, and after the
 * usage drain committed a batch to the ledger but before it deleted the batch from the streams.
 */
export type FaultPoint = 'after-enqueue' | 'before-commit' | 'after-commit' | 'after-smtp' | 'after-product-send' | 'after-meter-report' | 'after-ledger-commit'

/**
 * Test-only, off by default: when `TOLLGATE_FAULT_PAUSE` names this point, the process appends
 * `detail` to `<TOLLGATE_FAULT_DIR>/<point>` and stops there for good, waiting to be SIGKILLed. Read at
 * call time, never at import; never set it in production.
 */
export async function faultPoint (point: FaultPoint, detail: string): Promise<void> {
  if (process.env.TOLLGATE_FAULT_PAUSE !== point) return
  await appendFile(join(process.env.TOLLGATE_FAULT_DIR ?? tmpdir(), point), `${detail}\n`)
  await new Promise(() => {})
}
