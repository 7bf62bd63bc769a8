CREATE TABLE "test_clocks" (
	"id" text PRIMARY KEY NOT NULL,
	"frozen_time" bigint NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "customers" ADD COLUMN "test_clock_id" text;--> statement-breakpoint
ALTER TABLE "customers" ADD COLUMN "stripe_time" bigint;--> statement-breakpoint
ALTER TABLE "subscriptions" ADD COLUMN "payment_state" text;--> statement-breakpoint
ALTER TABLE "subscriptions" ADD COLUMN "payment_state_at" bigint;--> statement-breakpoint
CREATE INDEX "customers_test_clock_idx" ON "customers" USING btree ("test_clock_id") WHERE test_clock_id is not null;