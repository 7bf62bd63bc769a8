-- A report written earlier was sent stamped with its window's start: its resends keep that stamp.
ALTER TABLE "usage_meter_reports" ADD COLUMN "event_timestamp" bigint;--> statement-breakpoint
UPDATE "usage_meter_reports" SET "event_timestamp" = "window_start";--> statement-breakpoint
ALTER TABLE "usage_meter_reports" ALTER COLUMN "event_timestamp" SET NOT NULL;
