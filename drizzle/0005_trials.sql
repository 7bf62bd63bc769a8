CREATE TABLE "trial_claims" (
	"user_id" text PRIMARY KEY NOT NULL,
	"stripe_customer_id" text NOT NULL,
	"stripe_subscription_id" text NOT NULL,
	"trial_end" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "entitlements" ADD COLUMN "trial_end" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "entitlements" ADD COLUMN "pending_change" jsonb;--> statement-breakpoint
ALTER TABLE "entitlements" ADD COLUMN "discount" jsonb;--> statement-breakpoint
ALTER TABLE "subscriptions" ADD COLUMN "trial_end" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "subscriptions" ADD COLUMN "pending_change" jsonb;--> statement-breakpoint
ALTER TABLE "subscriptions" ADD COLUMN "discount" jsonb;--> statement-breakpoint
CREATE INDEX "trial_claims_customer_idx" ON "trial_claims" USING btree ("stripe_customer_id");