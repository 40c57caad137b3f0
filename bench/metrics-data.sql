-- Data for the metrics benchmark: 20,000 pages over the two years before
-- now for the team `bench` (made by bench/metrics.sh with a rotation that
-- began two years ago), answered by whoever held the role, from twelve
-- alert sources, with recovery days. Deterministic (setseed).
SELECT setseed(0.7);

WITH g AS (
    SELECT i, now() - random() * interval '730 days' AS fired,
           random() AS r_ack, random() AS r_role, random() AS r_src, random() AS r_res, random() AS r_work
    FROM generate_series(1, 20000) i
)
INSERT INTO pages (team_id, rotation_id, source, dedup_key, summary, fired_at, acknowledged_at,
                   resolved_at, worked_until, responder_id, responder_role, sla_minutes)
SELECT t.id, r.id,
       (ARRAY['db-replication', 'api-latency', 'disk-full', 'queue-backlog', 'cert-expiry', 'cron-failed',
              'error-rate', 'k8s-node', 'payments-timeout', 'search-index', 'backup', 'dns'])[1 + floor(g.r_src * 12)::int],
       'bench-' || g.i, 'Benchmark page ' || g.i, g.fired,
       CASE WHEN g.r_ack < 0.9 THEN g.fired + g.r_ack * interval '20 minutes' END,
       CASE WHEN g.r_res < 0.95 THEN g.fired + g.r_res * interval '2 hours' END,
       CASE WHEN g.r_work < 0.03 THEN g.fired + interval '4 hours' END,
       s.user_id, s.role, CASE s.role WHEN 'primary' THEN 5 ELSE 30 END
FROM g
CROSS JOIN teams t
JOIN rotations r ON r.team_id = t.id
JOIN shifts s ON s.rotation_id = r.id
    AND s.role = CASE WHEN g.r_role < 0.85 THEN 'primary' ELSE 'secondary' END
    AND g.fired >= s.starts_at AND g.fired < s.ends_at
WHERE t.slug = 'bench'
ON CONFLICT DO NOTHING;

INSERT INTO recovery_days (team_id, user_id, trigger_kind, trigger_date, day, worked_anyway, reason)
SELECT m.team_id, m.user_id, 'night', d, d, random() < 0.15, 'benchmark'
FROM memberships m JOIN teams t ON t.id = m.team_id
CROSS JOIN LATERAL generate_series(current_date - 730 + (m.user_id % 7)::int, current_date, interval '10 days') AS d
WHERE t.slug = 'bench' AND m.role = 'member'
ON CONFLICT DO NOTHING;

ANALYZE pages;
ANALYZE shifts;
ANALYZE recovery_days;
SELECT count(*) AS bench_pages FROM pages p JOIN teams t ON t.id = p.team_id WHERE t.slug = 'bench';
