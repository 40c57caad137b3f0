-- The organisation benchmark's history (bench/org.sh), once every team has
-- its weekly rotation over five years: 2,000 pages per team (1M for 500)
-- answered by whoever held the role, a recovery day a month per person,
-- and a submitted handoff at each past week boundary (130k for 500 teams),
-- about 200 words each. Deterministic (setseed).
--
--   psql "$DATABASE_URL" -v pages_per_team=2000 -f bench/org-data.sql
\set ON_ERROR_STOP on
\if :{?pages_per_team} \else \set pages_per_team 2000 \endif
SELECT setseed(0.17);
\timing on

\echo pages
INSERT INTO pages (team_id, rotation_id, source, dedup_key, summary, fired_at, acknowledged_at,
                   resolved_at, worked_until, responder_id, responder_role, sla_minutes)
SELECT r.team_id, r.id,
       (ARRAY['db-replication', 'api-latency', 'disk-full', 'queue-backlog', 'cert-expiry', 'cron-failed',
              'error-rate', 'k8s-node', 'payments-timeout', 'search-index', 'backup', 'dns'])[1 + floor(g.r_src * 12)::int],
       'org-' || g.i, 'Organisation page ' || g.i, g.fired,
       CASE WHEN g.r_ack < 0.9 THEN g.fired + g.r_ack * interval '20 minutes' END,
       CASE WHEN g.r_res < 0.95 THEN g.fired + g.r_res * interval '2 hours' END,
       CASE WHEN g.r_work < 0.03 THEN g.fired + interval '4 hours' END,
       s.user_id, s.role, CASE s.role WHEN 'primary' THEN 5 ELSE 30 END
FROM rotations r
CROSS JOIN LATERAL (
    SELECT i, now() - random() * interval '1820 days' AS fired,
           random() AS r_ack, random() AS r_role, random() AS r_src, random() AS r_res, random() AS r_work
    FROM generate_series(1, :pages_per_team) i WHERE r.id IS NOT NULL
) g
CROSS JOIN LATERAL (
    SELECT s.user_id, s.role FROM shifts s
    WHERE s.rotation_id = r.id AND s.role = CASE WHEN g.r_role < 0.85 THEN 'primary' ELSE 'secondary' END
      AND s.ends_at > g.fired AND s.starts_at <= g.fired
    LIMIT 1
) s;

\echo recovery days
INSERT INTO recovery_days (team_id, user_id, trigger_kind, trigger_date, day, worked_anyway, reason)
SELECT m.team_id, m.user_id, 'night', d, d, random() < 0.15, 'benchmark'
FROM memberships m
CROSS JOIN LATERAL generate_series(current_date - 1820 + (m.user_id % 30)::int, current_date, interval '30 days') AS d
ON CONFLICT DO NOTHING;

\echo handoffs
CREATE TEMP TABLE paragraphs AS
WITH vocab AS (
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
SELECT p AS n, string_agg(v.w[1 + floor(power(random(), 2) * cardinality(v.w))::int], ' ') AS text
FROM vocab v, generate_series(0, 999) p, generate_series(1, 40) k
GROUP BY p;

INSERT INTO handoffs (team_id, rotation_id, handoff_at, week_start, body, revision, author_id,
                      created_at, updated_at, submitted_at, submitted_by)
SELECT r.team_id, r.id, s.starts_at, s.starts_at::date,
       '# Handoff ' || s.id || E'\n\n## What happened\n\n'
       || pa.a[1 + (s.id * 7) % 1000] || E'\n' || pa.a[1 + (s.id * 13 + 1) % 1000] || E'\n'
       || pa.a[1 + (s.id * 31 + 2) % 1000] || E'\n' || pa.a[1 + (s.id * 61 + 3) % 1000] || E'\n'
       || pa.a[1 + (s.id * 97 + 4) % 1000]
       || CASE WHEN s.id % 10 = 0 THEN ' kafka consumer lag on the orders topic' ELSE '' END
       || CASE WHEN s.id % 200 = 0 THEN ' the zeppelin exporter flapped' ELSE '' END
       || E'\n\n## Ongoing issues and what to watch\n\n- [ ] watch the replica lag\n',
       1, s.user_id, s.starts_at, s.starts_at, s.starts_at, s.user_id
FROM (SELECT array_agg(text ORDER BY n) AS a FROM paragraphs) pa, rotations r
JOIN shifts s ON s.rotation_id = r.id AND s.role = 'primary' AND s.week_index > 0 AND s.starts_at < now()
ON CONFLICT DO NOTHING;

\timing off
VACUUM ANALYZE pages;
VACUUM ANALYZE shifts;
VACUUM ANALYZE recovery_days;
VACUUM ANALYZE handoffs;
ANALYZE;
SELECT (SELECT count(*) FROM teams) AS teams, (SELECT count(*) FROM users) AS people,
       (SELECT count(*) FROM shifts) AS shifts, (SELECT count(*) FROM pages) AS pages,
       (SELECT count(*) FROM handoffs) AS handoffs, (SELECT count(*) FROM recovery_days) AS recovery_days;
