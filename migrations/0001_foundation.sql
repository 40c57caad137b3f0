-- Foundation: people, teams, rotations and their materialised shifts.
-- Every instant is timestamptz (stored as UTC); wall-clock rules live in the code.

CREATE EXTENSION IF NOT EXISTS btree_gist;

CREATE TABLE users (
    id              bigserial PRIMARY KEY,
    email           text NOT NULL,
    name            text NOT NULL,
    timezone        text NOT NULL DEFAULT 'UTC',
    password_hash   text,
    is_admin        boolean NOT NULL DEFAULT false,
    calendar_secret text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT users_email_key UNIQUE (email),
    CONSTRAINT users_email_lower CHECK (email = lower(email)),
    CONSTRAINT users_calendar_secret_key UNIQUE (calendar_secret)
);

CREATE TABLE api_tokens (
    id           bigserial PRIMARY KEY,
    user_id      bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    label        text NOT NULL,
    token_hash   bytea NOT NULL UNIQUE,
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz,
    revoked_at   timestamptz
);
CREATE INDEX api_tokens_user ON api_tokens (user_id);

CREATE TABLE login_attempts (
    email     text NOT NULL,
    at        timestamptz NOT NULL DEFAULT now(),
    succeeded boolean NOT NULL
);
CREATE INDEX login_attempts_email_at ON login_attempts (email, at);

CREATE TABLE teams (
    id              bigserial PRIMARY KEY,
    slug            text NOT NULL,
    name            text NOT NULL,
    timezone        text NOT NULL,
    calendar_secret text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT teams_slug_key UNIQUE (slug),
    CONSTRAINT teams_calendar_secret_key UNIQUE (calendar_secret)
);

CREATE TABLE memberships (
    team_id bigint NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
    user_id bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role    text NOT NULL CHECK (role IN ('member', 'manager')),
    PRIMARY KEY (team_id, user_id)
);
CREATE INDEX memberships_user ON memberships (user_id);

CREATE TABLE rotations (
    id         bigserial PRIMARY KEY,
    team_id    bigint NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
    slug       text NOT NULL,
    name       text NOT NULL,
    start_date date NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT rotations_team_slug_key UNIQUE (team_id, slug)
);

-- One row per settings version. A version owns the weeks from effective_from
-- until the next version's effective_from; older versions are history.
CREATE TABLE rotation_versions (
    id                    bigserial PRIMARY KEY,
    rotation_id           bigint NOT NULL REFERENCES rotations(id) ON DELETE CASCADE,
    effective_from        timestamptz NOT NULL,
    anchor_date           date NOT NULL,
    timezone              text NOT NULL,
    handoff_weekday       smallint NOT NULL CHECK (handoff_weekday BETWEEN 0 AND 6), -- 0 = Monday
    handoff_time          time NOT NULL,
    participants          bigint[] NOT NULL CHECK (cardinality(participants) >= 2),
    primary_offset        integer NOT NULL,
    primary_sla_minutes   integer NOT NULL CHECK (primary_sla_minutes > 0),
    secondary_sla_minutes integer NOT NULL CHECK (secondary_sla_minutes > 0),
    created_at            timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT rotation_versions_from_key UNIQUE (rotation_id, effective_from)
);

CREATE TABLE shifts (
    id          bigserial PRIMARY KEY,
    rotation_id bigint NOT NULL REFERENCES rotations(id) ON DELETE CASCADE,
    version_id  bigint NOT NULL REFERENCES rotation_versions(id) ON DELETE CASCADE,
    week_index  integer NOT NULL,
    role        text NOT NULL CHECK (role IN ('primary', 'secondary')),
    user_id     bigint NOT NULL REFERENCES users(id),
    starts_at   timestamptz NOT NULL,
    ends_at     timestamptz NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT shifts_positive CHECK (starts_at < ends_at),
    CONSTRAINT shifts_no_overlap EXCLUDE USING gist
        (rotation_id WITH =, role WITH =, tstzrange(starts_at, ends_at) WITH &&),
    CONSTRAINT shifts_one_role_at_a_time EXCLUDE USING gist
        (rotation_id WITH =, user_id WITH =, tstzrange(starts_at, ends_at) WITH &&)
);
CREATE INDEX shifts_user_time ON shifts (user_id, starts_at);

-- Every schedule change: who, when, what, before and after.
CREATE TABLE audit_log (
    id       bigserial PRIMARY KEY,
    team_id  bigint NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
    actor_id bigint REFERENCES users(id),
    at       timestamptz NOT NULL DEFAULT now(),
    action   text NOT NULL,
    before   jsonb,
    after    jsonb
);
CREATE INDEX audit_log_team_at ON audit_log (team_id, at);
