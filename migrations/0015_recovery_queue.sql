-- Pages reported by tools no longer derive recovery days in the request:
-- each records here whose days it may change, and the recovery job
-- (jobs::recovery) claims the rows, coalesces them per person and derives.
-- No foreign keys: an insert here takes no lock on users or teams, and the
-- job skips a person who is gone. No NOTIFY trigger: no cache reads it.
CREATE TABLE recovery_dirty (
    id             bigserial PRIMARY KEY,
    user_id        bigint NOT NULL,
    team_id        bigint NOT NULL,
    fired_at       timestamptz NOT NULL,
    -- The page's engagement (acknowledgement or firing to the end of work).
    engaged_from   timestamptz NOT NULL,
    engaged_until  timestamptz NOT NULL
);
