import { runWorkers } from './run.js'

await runWorkers(['stripe-events'])
