import { Queue } from 'bullmq'
import { jobPolicy, QUEUES } from './policy.js'
import type { RedisClient } from './connections.js'

export type Queues = ReturnType<typeof createQueues>

export function createQueues (connection: RedisClient, prefix: string) {
  const make = (name: keyof typeof jobPolicy) => {
    const queue = new Queue(name, { connection, prefix, defaultJobOptions: jobPolicy[name] })
    // Connection trouble surfaces to callers as a rejected add() (the webhook answers 503); the
    // event itself would otherwise crash the process.
    queue.on('error', () => {})
    return queue
  }
  return {
    stripeEvents: make(QUEUES.stripeEvents),
    email: make(QUEUES.email),
    prices: make(QUEUES.prices),
    productEvents: make(QUEUES.productEvents)
  }
}
