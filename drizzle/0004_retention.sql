ALTER TABLE "stripe_events" ALTER COLUMN "payload" DROP NOT NULL;--> statement-breakpoint
CREATE INDEX "email_outbox_sent_idx" ON "email_outbox" USING btree ("sent_at") WHERE status = 'sent';--> statement-breakpoint
CREATE INDEX "stripe_events_prunable_idx" ON "stripe_events" USING btree ("received_at") WHERE payload is not null and outcome <> 'failed';