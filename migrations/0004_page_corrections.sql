-- A page corrected by a person keeps their times whatever its tool sends
-- later; a deleted page stays deleted when its tool repeats it; and a
-- responder named by a report is not replaced by the schedule's.
ALTER TABLE pages
    ADD COLUMN corrected_at timestamptz,
    ADD COLUMN deleted_at timestamptz,
    ADD COLUMN responder_named boolean NOT NULL DEFAULT false;
