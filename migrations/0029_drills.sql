-- Drills (issue 12): "Send a test page" runs the whole paging path, and
-- counts nowhere: no recovery day, no metric, no one's load.
ALTER TABLE pages ADD COLUMN drill boolean NOT NULL DEFAULT false;

-- A drill someone sends themself pages only them, by their own rules, in
-- one step; nobody else is paged. NULL: the team's escalation policy.
ALTER TABLE escalations ADD COLUMN only_user_id bigint REFERENCES users(id) ON DELETE CASCADE;

-- The metrics leave drills out (`db::metrics::pages`): the index they read
-- from alone carries the flag too. It replaces the one with the same keys.
CREATE INDEX pages_team_fired_counted ON pages (team_id, fired_at)
    INCLUDE (acknowledged_at, resolved_at, worked_until, responder_id, responder_role, sla_minutes, source,
             deleted_at, drill);
DROP INDEX pages_team_fired_figures;
