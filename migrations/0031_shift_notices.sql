-- Shift notifications (issue 12): the day before a shift and at its start,
-- each person is told once. A row is claimed before its notification is
-- written, in one transaction, so several processes tell each person once.
-- Keyed by the shift's facts rather than its id: future shifts are
-- regenerated with new ids when a rotation changes.
CREATE TABLE shift_notices (
    user_id     bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    rotation_id bigint NOT NULL REFERENCES rotations(id) ON DELETE CASCADE,
    role        text NOT NULL,
    starts_at   timestamptz NOT NULL,
    kind        text NOT NULL CHECK (kind IN ('eve', 'start')),
    sent_at     timestamptz NOT NULL,
    PRIMARY KEY (user_id, rotation_id, role, starts_at, kind)
);
CREATE INDEX shift_notices_sent ON shift_notices (sent_at);

-- The job looks for shifts starting soon across every rotation.
CREATE INDEX shifts_starts ON shifts (starts_at);
