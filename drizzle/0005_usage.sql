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
CREATE INDEX "usage_ledger_window_idx" ON "usage_ledger" USING btree ("user_id","metric","window_start");