CREATE TABLE "product_deliveries" (
	"endpoint_id" bigint NOT NULL,
	"event_id" uuid NOT NULL,
	"user_id" text NOT NULL,
	"seq" bigint NOT NULL,
	"status" text DEFAULT 'pending' NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"delivered_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "product_delivery_attempts" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"endpoint_id" bigint NOT NULL,
	"event_id" uuid NOT NULL,
	"attempt" integer NOT NULL,
	"status" integer,
	"ok" boolean NOT NULL,
	"latency_ms" integer NOT NULL,
	"response" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "product_endpoints" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"url" text NOT NULL,
	"secrets" jsonb NOT NULL,
	"source" text NOT NULL,
	"enabled" boolean DEFAULT true NOT NULL,
	"failure_run" integer DEFAULT 0 NOT NULL,
	"disabled_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "product_endpoints_url_unique" UNIQUE("url")
);
--> statement-breakpoint
CREATE TABLE "product_events" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"user_id" text NOT NULL,
	"seq" bigint NOT NULL,
	"type" text NOT NULL,
	"payload" jsonb NOT NULL,
	"once_key" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "product_events_once_key_unique" UNIQUE("once_key")
);
--> statement-breakpoint
CREATE UNIQUE INDEX "product_deliveries_pk" ON "product_deliveries" USING btree ("endpoint_id","event_id");--> statement-breakpoint
CREATE INDEX "product_deliveries_pending_idx" ON "product_deliveries" USING btree ("endpoint_id","user_id","seq") WHERE status = 'pending';--> statement-breakpoint
CREATE INDEX "product_delivery_attempts_event_idx" ON "product_delivery_attempts" USING btree ("event_id");--> statement-breakpoint
CREATE INDEX "product_delivery_attempts_at_idx" ON "product_delivery_attempts" USING btree ("created_at");--> statement-breakpoint
CREATE UNIQUE INDEX "product_events_user_seq_uq" ON "product_events" USING btree ("user_id","seq");--> statement-breakpoint
CREATE INDEX "product_events_created_idx" ON "product_events" USING btree ("created_at");