import { DueQueue } from './due-queue.js'
import { DUE_KINDS, type DueKind } from './due-kinds.js'
import { clockIdOf } from '../time.js'
import type { Ctx } from '../context.js'
import { collectionOf, type Collection, type Obj } from '../store.js'

interface Queued {
  at: number
  /** Position in DUE_KINDS: at one moment, one object's work runs in that order. */
  kind: number
  owner: Obj
  // Creation order of the owner: ties at one moment run object by object.
  rank: number
  generation: number
  run: () => Obj[] | void
}

const runsFirst = (a: Queued, b: Queued): boolean =>
  a.at !== b.at ? a.at < b.at : a.rank !== b.rank ? a.rank < b.rank : a.kind < b.kind

const COLLECTIONS = [...new Set(DUE_KINDS.map((k) => k.collection))]
const kindsOf = new Map<Collection, [number, DueKind][]>(
  COLLECTIONS.map((c) => [c, DUE_KINDS.map((k, i) => [i, k] as [number, DueKind]).filter(([, k]) => k.collection === c)])
)

/**
 * Runs, in time order, the due work of every object living in one time — the account's (`clockId`
 * null) or a test clock's — up to `target`, moving that time to each moment before its work runs, so
 * events carry the moment they happened at and a renewal never overtakes an earlier retry. An
 * object's due work changes only when its own work runs (or work that names it as touched), so each
 * step reschedules those objects alone; entries they had queued before are stale and skipped.
 */
export function runDueWork (ctx: Ctx, clockId: string | null, target: number, moveTo: (at: number) => void): void {
  const queue = new DueQueue<Queued>(runsFirst)
  const generations = new Map<Obj, number>()
  const ranks = new Map<Obj, { rank: number, collection: Collection }>()
  const schedule = (owner: Obj, ran?: Queued): void => {
    const { rank, collection } = ranks.get(owner)!
    const generation = (generations.get(owner) ?? 0) + 1
    generations.set(owner, generation)
    for (const [kind, dueKind] of kindsOf.get(collection)!) {
      const work = dueKind.due(ctx, owner)
      if (!work || !(work.at <= target)) continue // nothing, later, or not a moment at all (NaN)
      // Work that does not move its own moment forward (a price with interval_count 0) would run forever.
      if (ran?.kind === kind && work.at <= ran.at) continue
      queue.push({ at: work.at, kind, owner, rank, generation, run: work.run })
    }
  }
  let rank = 0
  const register = (owner: Obj, collection: Collection): void => {
    ranks.set(owner, { rank: rank++, collection })
    schedule(owner)
  }
  for (const collection of COLLECTIONS) {
    for (const owner of ctx.store.collections[collection].values()) {
      if (clockIdOf(ctx, owner) === clockId) register(owner, collection)
    }
  }
  for (let next = queue.pop(); next; next = queue.pop()) {
    if (generations.get(next.owner) !== next.generation) continue
    moveTo(next.at)
    const touched = next.run() ?? []
    schedule(next.owner, next)
    for (const other of touched) {
      if (other === next.owner) continue
      if (ranks.has(other)) schedule(other)
      else {
        // Work that creates an object (a schedule starting its subscription) hands it over: its own work runs in this walk too.
        const collection = collectionOf(other.id)
        if (collection && kindsOf.has(collection) && clockIdOf(ctx, other) === clockId) register(other, collection)
      }
    }
  }
  moveTo(target)
}
