import type { Settled } from '../billing/use-cases/apply-stripe-event.js'

interface Waiting<T, R> { item: T, tries: number, resolve: (value: R) => void, reject: (error: unknown) => void }

/**
 * Applies a batch. `tries[i]` counts the batches item i was left out of before; an undefined result
 * leaves it out of this one (it joins the next).
 */
export type ApplyAll<T, R> = (items: T[], tries: number[]) => Promise<Array<Settled<R> | undefined>>

/**
 * Group commit: each caller hands in one item and waits for its own result. Items that arrive while a
 * batch is being applied wait together and go in the next one, so a busy worker applies many events
 * per transaction while an idle one still applies each event as soon as it comes.
 */
export function groupCommit<T, R> (applyAll: ApplyAll<T, R>): (item: T) => Promise<R> {
  const waiting: Array<Waiting<T, R>> = []
  let draining = false

  async function drain (): Promise<void> {
    while (waiting.length > 0) {
      const batch = waiting.splice(0, waiting.length)
      let settled: Array<Settled<R> | undefined>
      try {
        settled = await applyAll(batch.map(w => w.item), batch.map(w => w.tries))
      } catch (error) {
        settled = batch.map(() => ({ ok: false, error }))
      }
      batch.forEach((w, i) => {
        const s = settled[i]
        if (!s) waiting.push({ ...w, tries: w.tries + 1 })
        else if (s.ok) w.resolve(s.value)
        else w.reject(s.error)
      })
    }
    draining = false
  }

  return item => new Promise<R>((resolve, reject) => {
    waiting.push({ item, tries: 0, resolve, reject })
    if (draining) return
    draining = true
    // One turn of the event loop lets jobs fetched together join the first batch.
    setImmediate(() => { void drain() })
  })
}
