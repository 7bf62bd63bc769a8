import type { ApplyWrites } from '../billing/apply-records.js'
import { saveCheckouts } from './checkout-sessions-repo.js'
import type { Tx } from './client.js'
import { saveCustomers, saveTestClocks } from './customers-repo.js'
import { saveEntitlements } from './entitlements-repo.js'
import { settleEvents, type EventOutcome } from './event-claims-repo.js'
import { queueEmails, type OutboxRef } from './outbox-repo.js'
import { saveProductEvents, type ProductEventRef } from './product-events-repo.js'
import { saveSubscriptions } from './subscriptions-repo.js'
import { saveTrialClaims } from './trial-claims-repo.js'

/**
 * Every write of an applied batch, in one round trip: the statements touch different rows and
 * the transaction commits all or none of them. Rows that must change together with billing state
 * join here (the product events with the change that causes them). Returns the new outbox rows,
 * the new product events and the users whose test clock moved.
 */
export async function writeApplied (tx: Tx, writes: ApplyWrites, outcomes: EventOutcome[]): Promise<{ outboxIds: OutboxRef[], productEvents: ProductEventRef[], clockUsers: string[] }> {
  const [outboxIds, , , , , , clockUsers, productEvents] = await Promise.all([
    queueEmails(tx, writes.emails),
    saveSubscriptions(tx, writes.subscriptions),
    saveCheckouts(tx, writes.checkouts),
    saveCustomers(tx, writes.customers),
    saveEntitlements(tx, writes.entitlements),
    settleEvents(tx, outcomes),
    saveTestClocks(tx, writes.testClocks),
    saveProductEvents(tx, writes.productEvents),
    saveTrialClaims(tx, writes.trialClaims)
  ])
  return { outboxIds, productEvents, clockUsers }
}
