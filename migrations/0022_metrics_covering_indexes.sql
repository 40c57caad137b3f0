-- The metrics read a team's pages and recovery days over up to two years
-- (`db::metrics::pages`, `::recovery`): for a page of 50 teams of the
-- admins' overview, ~40,000 pages, each on a heap page of its own (pages
-- of many teams arrive interleaved), ~200 ms. Indexes carrying every
-- column those reads need answer from the index alone (~15 ms). They
-- replace the indexes with the same keys.
CREATE INDEX pages_team_fired_figures ON pages (team_id, fired_at)
    INCLUDE (acknowledged_at, resolved_at, worked_until, responder_id, responder_role, sla_minutes, source, deleted_at);
DROP INDEX pages_team_fired;
CREATE INDEX recovery_days_team_day_figures ON recovery_days (team_id, day) INCLUDE (state, user_id, worked_anyway);
DROP INDEX recovery_days_team_day;
