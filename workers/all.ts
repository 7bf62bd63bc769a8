import { runWorkers } from './run.js'

// Queues come from WORKER_QUEUES (default: all of them).
await runWorkers()
