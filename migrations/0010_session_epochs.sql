-- A password change ends a person's other sessions: each session keeps the
-- epoch it was signed in under, and a session whose epoch is older than
-- the account's is signed out on its next request.
ALTER TABLE users ADD COLUMN session_epoch integer NOT NULL DEFAULT 0;
