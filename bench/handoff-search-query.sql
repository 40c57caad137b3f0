-- One search as `db::handoffs::search` runs it (keep the two in step):
-- rank every match, keep the best 20, and cut a highlighted snippet for
-- each. For pgbench, with -M extended and -D team_id=… -D q=….
SELECT m.id, m.rotation_id, m.handoff_at, m.week_start, m.rank,
       ts_headline('english', h.body, m.q,
           'StartSel=' || chr(57344) || ', StopSel=' || chr(57345)
           || ', MaxWords=35, MinWords=12, MaxFragments=2, FragmentDelimiter=" … "') AS snippet
FROM (SELECT h.id, h.rotation_id, h.handoff_at, h.week_start, q, ts_rank(h.search, q) AS rank
      FROM handoffs h, websearch_to_tsquery('english', :q) AS q
      WHERE h.team_id = :team_id AND h.search @@ q
      ORDER BY rank DESC, h.handoff_at DESC LIMIT :lim) m
JOIN handoffs h ON h.id = m.id
ORDER BY m.rank DESC, m.handoff_at DESC;
