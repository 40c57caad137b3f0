-- Handoffs: the outgoing on-call's writeup at each week boundary, the
-- incoming ones' acknowledgements, the versions kept after submission, the
-- reminders already sent, and the chat posts of submitted handoffs.

-- Where a team's submitted handoffs are posted (Slack-compatible JSON).
ALTER TABLE teams ADD COLUMN handoff_webhook_url text;

CREATE TABLE handoffs (
    id           bigserial PRIMARY KEY,
    team_id      bigint NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
    rotation_id  bigint NOT NULL REFERENCES rotations(id) ON DELETE CASCADE,
    -- The instant the outgoing week ends and the incoming one starts.
    handoff_at   timestamptz NOT NULL,
    -- The incoming week's first date in the rotation's zone: how URLs name it.
    week_start   date NOT NULL,
    body         text NOT NULL CHECK (octet_length(body) <= 65536),
    -- Counts saves, so two people editing at once cannot overwrite each other.
    revision     integer NOT NULL DEFAULT 1,
    author_id    bigint REFERENCES users(id),
    created_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL,
    submitted_at timestamptz,
    submitted_by bigint REFERENCES users(id),
    search       tsvector GENERATED ALWAYS AS (to_tsvector('english', body)) STORED,
    CONSTRAINT handoffs_one_per_boundary UNIQUE (rotation_id, handoff_at)
);
CREATE INDEX handoffs_search ON handoffs USING gin (search);
-- A search ranks every match, reading each one's tsvector. Keeping those in
-- the row (up to about 4 KB) and moving the body out to TOAST instead, a
-- scan reads only what ranking needs: with 10,000 handoffs that ranks about
-- five times faster than the defaults.
ALTER TABLE handoffs ALTER COLUMN search SET STORAGE MAIN;
ALTER TABLE handoffs ALTER COLUMN body SET STORAGE EXTERNAL;
ALTER TABLE handoffs SET (toast_tuple_target = 4000);
CREATE INDEX handoffs_team_at ON handoffs (team_id, handoff_at DESC);

-- The submitted text and every edit after it, numbered from 1.
CREATE TABLE handoff_versions (
    handoff_id bigint NOT NULL REFERENCES handoffs(id) ON DELETE CASCADE,
    number     integer NOT NULL,
    body       text NOT NULL,
    author_id  bigint REFERENCES users(id),
    saved_at   timestamptz NOT NULL,
    PRIMARY KEY (handoff_id, number)
);

CREATE TABLE handoff_acknowledgements (
    handoff_id      bigint NOT NULL REFERENCES handoffs(id) ON DELETE CASCADE,
    user_id         bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    -- The role they took over at the handoff.
    role            text NOT NULL CHECK (role IN ('primary', 'secondary')),
    acknowledged_at timestamptz NOT NULL,
    PRIMARY KEY (handoff_id, user_id)
);

-- Reminders already sent, so each goes out once however many processes run.
-- Keyed by the boundary, not the handoff row: the morning reminder is for a
-- handoff nobody has started yet.
CREATE TABLE handoff_reminders (
    rotation_id bigint NOT NULL REFERENCES rotations(id) ON DELETE CASCADE,
    handoff_at  timestamptz NOT NULL,
    kind        text NOT NULL CHECK (kind IN ('write', 'read')),
    user_id     bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    sent_at     timestamptz NOT NULL,
    PRIMARY KEY (rotation_id, handoff_at, kind, user_id)
);

-- An outbox: a submission only adds a row here, so a slow or failing chat
-- server never holds it up; the delivery job sends and retries.
CREATE TABLE handoff_webhook_deliveries (
    id              bigserial PRIMARY KEY,
    team_id         bigint NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
    handoff_id      bigint NOT NULL REFERENCES handoffs(id) ON DELETE CASCADE,
    url             text NOT NULL,
    payload         jsonb NOT NULL,
    created_at      timestamptz NOT NULL,
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL,
    last_attempt_at timestamptz,
    last_status     integer,
    last_error      text,
    delivered_at    timestamptz,
    gave_up_at      timestamptz
);
CREATE INDEX handoff_webhook_deliveries_due ON handoff_webhook_deliveries (next_attempt_at)
    WHERE delivered_at IS NULL AND gave_up_at IS NULL;
CREATE INDEX handoff_webhook_deliveries_team ON handoff_webhook_deliveries (team_id, created_at DESC);
