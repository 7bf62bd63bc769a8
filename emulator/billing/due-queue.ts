// A binary min-heap: the billing clock takes the earliest due work among thousands of
// subscriptions at every step, and re-sorting them all per step is what made it slow.
export class DueQueue<T> {
  private heap: T[] = []

  constructor (private readonly before: (a: T, b: T) => boolean) {}

  push (item: T): void {
    const heap = this.heap
    heap.push(item)
    let i = heap.length - 1
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (!this.before(heap[i], heap[parent])) break
      ;[heap[i], heap[parent]] = [heap[parent], heap[i]]
      i = parent
    }
  }

  pop (): T | undefined {
    const heap = this.heap
    const top = heap[0]
    const last = heap.pop()
    if (heap.length === 0 || last === undefined) return top
    heap[0] = last
    let i = 0
    for (;;) {
      const left = 2 * i + 1
      const right = left + 1
      let first = i
      if (left < heap.length && this.before(heap[left], heap[first])) first = left
      if (right < heap.length && this.before(heap[right], heap[first])) first = right
      if (first === i) return top
      ;[heap[i], heap[first]] = [heap[first], heap[i]]
      i = first
    }
  }
}
