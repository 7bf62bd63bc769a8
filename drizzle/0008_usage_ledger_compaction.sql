ALTER TABLE "usage_ledger" ADD COLUMN "folded_entries" bigint;--> statement-breakpoint
CREATE INDEX "usage_ledger_unfolded_idx" ON "usage_ledger" USING btree ("created_at") WHERE folded_entries is null;--> statement-breakpoint
CREATE INDEX "usage_ledger_folded_window_idx" ON "usage_ledger" USING btree ("window_start") WHERE folded_entries is not null;--> statement-breakpoint
CREATE INDEX "usage_meter_reports_sent_window_idx" ON "usage_meter_reports" USING btree ("window_start") WHERE status = 'sent';