-- The organisation-wide on-call directory (issue 14) lists every team's
-- on-call to every signed-in person; a private team shows only to its
-- members (and admins).
ALTER TABLE teams ADD COLUMN private boolean NOT NULL DEFAULT false;
