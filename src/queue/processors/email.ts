import { UnrecoverableError, type Job } from 'bullmq'
import type { Deps } from '../../deps.js'
import { faultPoint } from '../../fault-points.js'
import { markAttemptFailed, markSent, startSending, type OutboxRow } from '../../db/outbox-repo.js'
import { redactEmails } from '../../log-redaction.js'
import { renderEmail, UnknownTemplateError } from '../../mail/templates.js'
import type { EmailJob } from '../policy.js'

/**
 * One Message-ID per email Tollgate means to send: the Stripe event and the template, as the outbox
 * is unique on them. A resend after a crash, or after a restored database applied the event again,
 * carries the same id, which mail systems deduplicate; a new email never reuses an old one's.
 */
export function outboxMessageId (row: Pick<OutboxRow, 'eventId' | 'template'>, mailFrom: string): string {
  const domain = /@([^>\s]+)>?\s*$/.exec(mailFrom)?.[1] ?? 'tollgate.invalid'
  return `<${row.eventId}.${row.template}@${domain}>`
}

/** An SMTP 5xx answer (mailbox unknown, message refused) will not change on a retry; 4xx and network errors may. */
function isPermanent (err: unknown): boolean {
  if (err instanceof UnknownTemplateError) return true
  const code = (err as { responseCode?: unknown }).responseCode
  return typeof code === 'number' && code >= 500
}

/**
 * Sends one outbox row. Mail is at-least-once: SMTP cannot join the database transaction, so a
 * worker that dies between the server's acceptance and `markSent` sends the message again on retry.
 * A failed email never touches billing state: that was committed with the outbox row.
 */
export function createEmailProcessor (deps: Pick<Deps, 'db' | 'mailer' | 'config'>) {
  return async function processEmail (job: Job<EmailJob>) {
    const row = await startSending(deps.db, job.data.outboxId, job.data.key)
    if (!row) return { outcome: 'skipped' }
    try {
      const mail = renderEmail(row.template, row.data, { appUrl: deps.config.APP_URL })
      await deps.mailer.send({ to: row.to, messageId: outboxMessageId(row, deps.config.MAIL_FROM), ...mail })
    } catch (err) {
      const permanent = isPermanent(err)
      // SMTP replies quote the recipient ("550 <ada@…>: unknown user"); the error travels on to the
      // outbox row, the job's failedReason in Redis and the worker's log, none of which needs the address.
      const message = redactEmails((err as Error).message)
      await markAttemptFailed(deps.db, row.id, message, permanent || job.attemptsMade + 1 >= (job.opts.attempts ?? 1))
      throw permanent ? new UnrecoverableError(message) : new Error(message)
    }
    await faultPoint('after-smtp', String(row.id))
    await markSent(deps.db, row.id)
    return { outcome: 'sent' }
  }
}
