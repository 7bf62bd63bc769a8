CREATE TABLE "usage_ledger" (
	"entry_id" uuid PRIMARY KEY NOT NULL,
	"user_id" text NOT NULL,
	"metric" text NOT NULL,
	"window_start" bigint NOT NULL,
	"quantity" bigint NOT NULL,
	"idempotency_key" text,
	"created_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "usage_meter_reports" (
	"identifier" text PRIMARY KEY NOT NULL,
	"user_id" text NOT NULL,
	"metric" text NOT NULL,
	"window_start" bigint NOT NULL,
	"from_quantity" bigint NOT NULL,
	"to_quantity" bigint NOT NULL,
	"stripe_customer_id" text NOT NULL,
	"status" text DEFAULT 'pending' NOT NULL,
	"error" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"sent_at" timestamp with time zone
);
--> statement-breakpoint
CREATE INDEX "usage_ledger_window_idx" ON "usage_ledger" USING btree ("user_id","metric","window_start");--> statement-breakpoint
CREATE UNIQUE INDEX "usage_meter_reports_chain_uq" ON "usage_meter_reports" USING btree ("user_id","metric","window_start","from_quantity");--> statement-breakpoint
CREATE INDEX "usage_meter_reports_pending_idx" ON "usage_meter_reports" USING btree ("created_at") WHERE status = 'pending';