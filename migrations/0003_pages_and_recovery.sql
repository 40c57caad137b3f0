-- Pages from alerting tools or by hand, and the recovery days they grant.

ALTER TABLE teams
    ADD COLUMN sleep_start time NOT NULL DEFAULT '22:00',
    ADD COLUMN sleep_end time NOT NULL DEFAULT '08:00',
    ADD COLUMN day_threshold_minutes integer NOT NULL DEFAULT 60
        CHECK (day_threshold_minutes BETWEEN 1 AND 1440);

-- Tokens with which alerting tools report pages for one team.
CREATE TABLE integration_tokens (
    id             bigserial PRIMARY KEY,
    team_id        bigint NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
    rotation_id    bigint REFERENCES rotations(id) ON DELETE CASCADE,
    label          text NOT NULL,
    token_hash     bytea NOT NULL UNIQUE,
    -- PagerDuty's webhook signing secret, when set: signatures are checked.
    signing_secret text,
    created_at     timestamptz NOT NULL DEFAULT now(),
    revoked_at     timestamptz
);
CREATE INDEX integration_tokens_team ON integration_tokens (team_id);

CREATE TABLE holidays (
    team_id bigint NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
    date    date NOT NULL,
    name    text NOT NULL,
    PRIMARY KEY (team_id, date)
);

CREATE TABLE pages (
    id              bigserial PRIMARY KEY,
    team_id         bigint NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
    rotation_id     bigint REFERENCES rotations(id) ON DELETE SET NULL,
    source          text NOT NULL,
    dedup_key       text NOT NULL,
    summary         text NOT NULL,
    link            text,
    severity        text,
    fired_at        timestamptz NOT NULL,
    acknowledged_at timestamptz,
    resolved_at     timestamptz,
    -- An end entered by hand, when work went on past the resolve.
    worked_until    timestamptz,
    responder_id    bigint REFERENCES users(id),
    responder_role  text CHECK (responder_role IN ('primary', 'secondary')),
    -- The responder's role SLA when the page fired.
    sla_minutes     integer,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    -- Retries and duplicates make one page: the database decides, not a
    -- check-then-insert.
    CONSTRAINT pages_dedup_key UNIQUE (team_id, source, dedup_key)
);
CREATE INDEX pages_team_fired ON pages (team_id, fired_at);
CREATE INDEX pages_responder_fired ON pages (responder_id, fired_at);

CREATE TABLE recovery_days (
    id            bigserial PRIMARY KEY,
    team_id       bigint NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
    user_id       bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    -- What was lost: the night ending on trigger_date, or that day.
    trigger_kind  text NOT NULL CHECK (trigger_kind IN ('night', 'day')),
    trigger_date  date NOT NULL,
    day           date NOT NULL,
    form          text NOT NULL DEFAULT 'day_off' CHECK (form IN ('day_off', 'home', 'late_start')),
    worked_anyway boolean NOT NULL DEFAULT false,
    -- 'flagged': its page was corrected away after the day had passed.
    state         text NOT NULL DEFAULT 'granted' CHECK (state IN ('granted', 'flagged')),
    reason        text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT recovery_days_one_per_trigger UNIQUE (user_id, trigger_kind, trigger_date)
);
CREATE INDEX recovery_days_team_day ON recovery_days (team_id, day);
CREATE INDEX recovery_days_user_day ON recovery_days (user_id, day);

CREATE TRIGGER integration_tokens_changed AFTER INSERT OR UPDATE OR DELETE ON integration_tokens
    FOR EACH STATEMENT EXECUTE FUNCTION rota_notify_changed();
