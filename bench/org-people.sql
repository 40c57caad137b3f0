-- The organisation benchmark's people (bench/org.sh): :teams teams (500),
-- ten people each (5,000), the first a manager, every password the hash of
-- the admin made by `rota user create` (one Argon2 hash, copied).
--
--   psql "$DATABASE_URL" -v teams=500 -v admin=bench-admin@example.com -f bench/org-people.sql
\set ON_ERROR_STOP on
BEGIN;
INSERT INTO teams (slug, name, timezone, calendar_secret)
SELECT 'team-' || i, 'Team ' || i,
       (ARRAY['Europe/London', 'America/New_York', 'Europe/Berlin', 'Asia/Tokyo', 'Australia/Sydney'])[1 + i % 5],
       md5('team-secret-' || i || random())
FROM generate_series(1, :teams) i;

INSERT INTO users (email, name, timezone, password_hash, calendar_secret)
SELECT 'p' || i || '@example.com', 'Person ' || i, t.timezone,
       (SELECT password_hash FROM users WHERE email = :'admin'),
       md5('user-secret-' || i || random())
FROM generate_series(1, :teams * 10) i
JOIN teams t ON t.slug = 'team-' || (1 + (i - 1) / 10);

INSERT INTO memberships (team_id, user_id, role)
SELECT t.id, u.id, CASE WHEN (substr(u.email, 2, strpos(u.email, '@') - 2)::int - 1) % 10 = 0 THEN 'manager' ELSE 'member' END
FROM users u
JOIN teams t ON t.slug = 'team-' || (1 + (substr(u.email, 2, strpos(u.email, '@') - 2)::int - 1) / 10)
WHERE u.email ~ '^p[0-9]+@example\.com$';

-- The admin manages team-1, so the team pages can be measured as them.
INSERT INTO memberships (team_id, user_id, role)
SELECT t.id, u.id, 'manager' FROM teams t, users u WHERE t.slug = 'team-1' AND u.email = :'admin';
COMMIT;
