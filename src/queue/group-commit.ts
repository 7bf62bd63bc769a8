import type { Settled } from '../billing/use-cases/apply-stripe-event.js'

interface Waiting<T, R> { item: T, tries: number, resolve: (value: R) => void, reject: (error: unknown) => void }

/**
 * Applies a batch. `tries[i]` counts the batches item i was left out of before; an undefined result
 * leaves it out of this one (it joins the next).
 */
export type ApplyAll<T, R> = (items: T[], tries: number[]) => Promise<Array<Settled<R> | undefined>>

export interface GroupCommitOptions {
  /** Batches applied at once: a second one runs while the first waits on Postgres. */
  maxInFlight?: number
  /** While a batch is in flight, a second starts only once this many items wait (so it is worth a commit). */
  overlapAt?: number
}

/**
 * Group commit: each caller hands in one item and waits for its own result. Items that arrive while a
 * batch is being applied wait together and go in the next one, so a busy worker applies many events
 * per transaction while an idle one still applies each event as soon as it comes.
 */
export function groupCommit<T, R> (applyAll: ApplyAll<T, R>, opts: GroupCommitOptions = {}): (item: T) => Promise<R> {
  const maxInFlight = opts.maxInFlight ?? 2
  const overlapAt = opts.overlapAt ?? 1
  const waiting: Array<Waiting<T, R>> = []
  let inFlight = 0
  let scheduled = false

  function schedule (): void {
    if (scheduled || waiting.length === 0 || inFlight >= maxInFlight) return
    if (inFlight > 0 && waiting.length < overlapAt) return
    scheduled = true
    // One turn of the event loop lets jobs fetched together join the batch.
    setImmediate(() => { scheduled = false; void run() })
  }

  async function run (): Promise<void> {
    if (waiting.length === 0 || inFlight >= maxInFlight) return
    const batch = waiting.splice(0, waiting.length)
    inFlight++
    let settled: Array<Settled<R> | undefined>
    try {
      settled = await applyAll(batch.map(w => w.item), batch.map(w => w.tries))
    } catch (error) {
      settled = batch.map(() => ({ ok: false, error }))
    }
    inFlight--
    batch.forEach((w, i) => {
      const s = settled[i]
      if (!s) waiting.push({ ...w, tries: w.tries + 1 })
      else if (s.ok) w.resolve(s.value)
      else w.reject(s.error)
    })
    schedule()
  }

  return item => new Promise<R>((resolve, reject) => {
    waiting.push({ item, tries: 0, resolve, reject })
    schedule()
  })
}
