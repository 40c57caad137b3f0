-- An organisation of hundreds of teams (issue 17, bench/org.sh).
--
-- The schedule job asks each rotation for its last week (max(week_index)
-- of a version) and which rotations end before the horizon: without these
-- it read every shift of the organisation per rotation, growing with the
-- square of the organisation.
CREATE INDEX shifts_version_week ON shifts (version_id, week_index, ends_at);
-- A team's shifts over a period (metrics, the job's horizon check) start
-- from its rotations, not from every shift in the time range.
CREATE INDEX shifts_rotation_ends ON shifts (rotation_id, ends_at);

-- Handoff search is always within one team: one GIN index on (team_id,
-- search) answers `team_id = $1 AND search @@ q` without visiting other
-- teams' matches, so its time does not grow with the organisation.
CREATE EXTENSION IF NOT EXISTS btree_gin;
CREATE INDEX handoffs_team_search ON handoffs USING gin (team_id, search);
DROP INDEX handoffs_search;

-- Team metrics (and the admins' overview) are cached (`cache::Cache::Metrics`)
-- and read pages: a change to pages from another process or from SQL must
-- clear them too. One notification per statement, whatever its rows.
CREATE TRIGGER pages_changed AFTER INSERT OR UPDATE OR DELETE ON pages
    FOR EACH STATEMENT EXECUTE FUNCTION rota_notify_changed();
