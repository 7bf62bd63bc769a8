import t from 'tap'
import { groupCommit } from '../../src/queue/group-commit.js'

t.test('items that arrive while batches are applied wait together and go in the next batch', async t => {
  const batches: number[][] = []
  let release!: () => void
  const gate = new Promise<void>(resolve => { release = resolve })
  const apply = groupCommit<number, number>(async items => {
    batches.push(items)
    if (batches.length <= 2) await gate
    return items.map(value => ({ ok: true, value: value * 10 }))
  }, { maxInFlight: 2, overlapAt: 1 })

  const first = apply(1)
  await new Promise(resolve => setImmediate(resolve))
  const second = apply(2)
  await new Promise(resolve => setImmediate(resolve))
  const rest = [3, 4, 5].map(apply)
  await new Promise(resolve => setImmediate(resolve))
  t.same(batches, [[1], [2]], 'two batches in flight at most; the rest wait')
  release()
  t.same(await Promise.all([first, second, ...rest]), [10, 20, 30, 40, 50], 'each caller gets its own result')
  t.same(batches, [[1], [2], [3, 4, 5]], 'the waiting items went together')
})

t.test('an item left out of a batch is offered again with the next, counting its tries; failures stay per item', async t => {
  const seen: Array<[number, number]> = []
  const apply = groupCommit<number, number>(async (items, tries) => {
    items.forEach((item, i) => seen.push([item, tries[i]!]))
    return items.map((item, i) => {
      if (item === 2 && tries[i]! < 2) return undefined
      if (item === 3) return { ok: false, error: new Error('bad 3') }
      return { ok: true, value: item }
    })
  })
  const results = await Promise.allSettled([1, 2, 3].map(apply))
  t.match(results, [{ status: 'fulfilled', value: 1 }, { status: 'fulfilled', value: 2 }, { status: 'rejected', reason: { message: 'bad 3' } }])
  t.same(seen.filter(([item]) => item === 2).map(([, tries]) => tries), [0, 1, 2], 'deferred twice, then applied')

  const broken = groupCommit<number, number>(async () => { throw new Error('database down') })
  const failed = await Promise.allSettled([7, 8].map(broken))
  t.ok(failed.every(r => r.status === 'rejected' && (r.reason as Error).message === 'database down'), 'a batch that throws fails each of its callers')
})
