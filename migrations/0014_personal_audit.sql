-- Changes to a person's own account (their profile, password, calendar
-- link and API tokens) are audited too (architecture issue, step 2). They
-- belong to no team, so their entries have no team_id; a team's history
-- still lists only its own entries.
ALTER TABLE audit_log ALTER COLUMN team_id DROP NOT NULL;
