-- Generates handoffs for the search benchmark: :n (default 10000) submitted
-- handoffs in team :team (default platform), each about 300 words drawn
-- from an on-call vocabulary with a skewed frequency, as the template lays
-- them out. Every 10th mentions kafka, every 200th a zeppelin. They sit at
-- weekly instants before the team's first rotation began, so they never
-- collide with its real weeks. Rerunnable: it replaces what it made before.
--
--   psql "$DATABASE_URL" -v team=platform -v n=10000 -f bench/handoff-search.sql
\if :{?team} \else \set team platform \endif
\if :{?n} \else \set n 10000 \endif
\set ON_ERROR_STOP on

BEGIN;
DELETE FROM handoffs WHERE body LIKE '# Bench handoff %';

WITH target AS (
    SELECT t.id AS team_id, r.id AS rotation_id,
           (SELECT min(effective_from) FROM rotation_versions v WHERE v.rotation_id = r.id) AS first_start,
           (SELECT min(user_id) FROM memberships m WHERE m.team_id = t.id) AS author
    FROM teams t JOIN rotations r ON r.team_id = t.id
    WHERE t.slug = :'team'
    ORDER BY r.id LIMIT 1
), vocab AS (
    SELECT string_to_array(
        'the disk on db-1 filled and we paged twice at night restarted the replica lag alert fired '
        'again after deploy rollback latency p99 api gateway timeouts increased error rate on checkout '
        'service memory leak in worker pods oom killed kubernetes node drained certificate expiry '
        'renewed manually dns resolution failed for internal hosts queue backlog grew consumer stuck '
        'redis eviction cache miss storm postgres vacuum autovacuum bloat index rebuild slow query '
        'connection pool exhausted load balancer health checks flapping terraform drift s3 bucket '
        'permissions cron job missed backups verified restore tested runbook updated dashboard added '
        'grafana panel prometheus scrape target down alertmanager silence expired noisy alert tuned '
        'threshold raised pagerduty escalation secondary took over primary unreachable vpn outage '
        'vendor incident status page customer impact minor major sev2 sev3 postmortem scheduled '
        'follow up ticket created owner assigned watch closely tomorrow morning weekend quiet mostly '
        'nothing else noteworthy handed over questions answered in slack thread linked below '
        'feature flag rollout paused canary rollback succeeded blue green switch traffic shifted '
        'region failover tested latency spike packet loss upstream provider bgp route leak '
        'elasticsearch cluster yellow shard unassigned disk watermark reached log volume spike '
        'rate limiting enabled abusive client blocked waf rule added ssl handshake errors '
        'java heap gc pauses thread pool saturation deadlock detected migration lock timeout '
        'schema change deployed behind flag data backfill running slowly batch size reduced '
        'billing export delayed finance notified invoice job retried idempotent no duplicates',
        ' ') AS w
)
INSERT INTO handoffs (team_id, rotation_id, handoff_at, week_start, body, revision, author_id,
                      created_at, updated_at, submitted_at, submitted_by)
SELECT target.team_id, target.rotation_id, at, at::date, body, 1, target.author, at, at, at, target.author
FROM target, generate_series(1, :n) AS g
CROSS JOIN LATERAL (SELECT target.first_start - g * interval '7 days' AS at) a
CROSS JOIN LATERAL (
    SELECT '# Bench handoff ' || g || E'\n\n## What happened\n\n'
        || string_agg(v.w[1 + floor(power(random(), 2) * cardinality(v.w))::int], ' ')
        || CASE WHEN g % 10 = 0 THEN ' kafka consumer lag on the orders topic' ELSE '' END
        || CASE WHEN g % 200 = 0 THEN ' the zeppelin exporter flapped' ELSE '' END
        || E'\n\n## Ongoing issues and what to watch\n\n- [ ] watch the replica lag\n'
        || E'\n## Follow-ups for engineering\n\n- [ ] fix the noisy alert\n' AS body
    FROM vocab AS v, generate_series(1, 280 + g % 40) AS k
    WHERE g IS NOT NULL
) b;
COMMIT;
ANALYZE handoffs;
SELECT count(*) AS handoffs, pg_size_pretty(pg_total_relation_size('handoffs')) AS size
FROM handoffs WHERE team_id = (SELECT id FROM teams WHERE slug = :'team');
