-- Accounts a company can run (issue 13): leavers, invitations, password
-- resets, single sign-on identities, contact details on the profile, and
-- each person's list of sessions.

-- A leaver keeps their history; `deactivated_at` refuses sign-in, sessions
-- and tokens. Phone and chat handle are optional, shown to teammates.
ALTER TABLE users
    ADD COLUMN deactivated_at  timestamptz,
    ADD COLUMN phone           text,
    ADD COLUMN chat_handle     text,
    ADD COLUMN last_sign_in_at timestamptz;

-- A single-use link (only its SHA-256 is stored) that lets the invitee set
-- up their account, or sign in through SSO, within `expires_at`.
CREATE TABLE invitations (
    id          bigserial PRIMARY KEY,
    email       text NOT NULL CHECK (email = lower(email)),
    team_id     bigint REFERENCES teams(id) ON DELETE CASCADE,
    role        text NOT NULL DEFAULT 'member' CHECK (role IN ('member', 'manager')),
    token_hash  bytea NOT NULL UNIQUE,
    invited_by  bigint REFERENCES users(id) ON DELETE SET NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    accepted_at timestamptz,
    accepted_by bigint REFERENCES users(id) ON DELETE SET NULL,
    revoked_at  timestamptz
);
CREATE INDEX invitations_email ON invitations (email);

-- A single-use password reset link (SHA-256 stored), valid for an hour.
CREATE TABLE password_resets (
    id         bigserial PRIMARY KEY,
    user_id    bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    token_hash bytea NOT NULL UNIQUE,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    used_at    timestamptz
);
CREATE INDEX password_resets_user ON password_resets (user_id);

-- The OpenID provider's stable subject linked to an account on first use.
CREATE TABLE oidc_identities (
    issuer    text NOT NULL,
    subject   text NOT NULL,
    user_id   bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    linked_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (issuer, subject)
);
CREATE INDEX oidc_identities_user ON oidc_identities (user_id);

-- One row per sign-in, for "signed in on … from …" and signing out the
-- others. `sign_in_id` is a random id kept in the session's data.
CREATE TABLE user_sessions (
    sign_in_id   text PRIMARY KEY,
    user_id      bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    signed_in_at timestamptz NOT NULL,
    last_seen_at timestamptz NOT NULL,
    method       text NOT NULL CHECK (method IN ('password', 'sso', 'setup', 'invitation', 'reset')),
    ip           text,
    user_agent   text,
    ended_at     timestamptz
);
CREATE INDEX user_sessions_user ON user_sessions (user_id, signed_in_at DESC);
