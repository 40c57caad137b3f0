-- The metrics read whether Rota paged an unacknowledged page of a tool that
-- never reports acknowledgements (`db::metrics::pages`), which needs the
-- page's id: with it in the covering index the read stays index-only.
CREATE INDEX pages_team_fired_metrics ON pages (team_id, fired_at)
    INCLUDE (id, acknowledged_at, resolved_at, worked_until, responder_id, responder_role, sla_minutes, source,
             deleted_at, drill);
DROP INDEX pages_team_fired_counted;
