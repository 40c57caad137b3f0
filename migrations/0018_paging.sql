-- Paging (issue 12): people's contact methods and notification rules, the
-- teams' escalation policies, and each firing page's escalation as rows
-- with due times, so a restart loses no step and several processes send
-- each message once.

-- Who acknowledged (a person through Rota; tools report only the time).
ALTER TABLE pages ADD COLUMN acknowledged_by bigint REFERENCES users(id) ON DELETE SET NULL;

-- How a person is reached. Each is confirmed by a code sent in a test
-- message before it is used.
CREATE TABLE contact_methods (
    id              bigserial PRIMARY KEY,
    user_id         bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    kind            text NOT NULL CHECK (kind IN ('email', 'ntfy', 'sms', 'voice', 'webhook')),
    label           text NOT NULL,
    target          text NOT NULL,
    -- The ntfy access token, or the generic webhook's signing secret.
    secret          text,
    -- SHA-256 of the method's id and the confirmation code.
    code_hash       bytea,
    code_expires_at timestamptz,
    code_attempts   integer NOT NULL DEFAULT 0,
    verified_at     timestamptz,
    created_at      timestamptz NOT NULL,
    CONSTRAINT contact_methods_once UNIQUE (user_id, kind, target)
);

-- Which confirmed methods are used how long after a person is paged.
CREATE TABLE notification_rules (
    user_id           bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    contact_method_id bigint NOT NULL REFERENCES contact_methods(id) ON DELETE CASCADE,
    after_minutes     integer NOT NULL CHECK (after_minutes BETWEEN 0 AND 1440),
    PRIMARY KEY (contact_method_id, after_minutes)
);
CREATE INDEX notification_rules_user ON notification_rules (user_id);

-- A team's own escalation policy; without one it follows the role SLAs.
CREATE TABLE escalation_policies (
    team_id    bigint PRIMARY KEY REFERENCES teams(id) ON DELETE CASCADE,
    -- [{"target": "primary" | "secondary" | "managers", "after_minutes": n}]
    steps      jsonb NOT NULL,
    repeat     integer NOT NULL CHECK (repeat BETWEEN 0 AND 10),
    updated_at timestamptz NOT NULL
);

-- A page's escalation: its next step (counted across repeats) and when it
-- is due; due_at NULL once it has ended.
CREATE TABLE escalations (
    page_id      bigint PRIMARY KEY REFERENCES pages(id) ON DELETE CASCADE,
    started_at   timestamptz NOT NULL,
    next_step    integer NOT NULL DEFAULT 0,
    due_at       timestamptz,
    -- A claimed step is another process's after this.
    claimed_until timestamptz,
    ended_at     timestamptz,
    ended_reason text
);
CREATE INDEX escalations_due ON escalations (due_at) WHERE due_at IS NOT NULL;

-- Each message of a page: one per step, person, method and rule (a
-- person's rule may use one method twice: at once and again after ten
-- minutes; a skip has no method), so nothing is sent twice. Claimed under
-- a lease while sending.
CREATE TABLE page_messages (
    id                bigserial PRIMARY KEY,
    page_id           bigint NOT NULL REFERENCES pages(id) ON DELETE CASCADE,
    step              integer NOT NULL,
    user_id           bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    contact_method_id bigint REFERENCES contact_methods(id) ON DELETE CASCADE,
    -- The rule's minutes after the person was paged.
    after_minutes     integer NOT NULL DEFAULT 0,
    state             text NOT NULL
        CHECK (state IN ('pending', 'sending', 'sent', 'delivered', 'failed', 'skipped', 'cancelled')),
    due_at            timestamptz NOT NULL,
    attempts          integer NOT NULL DEFAULT 0,
    created_at        timestamptz NOT NULL,
    CONSTRAINT page_messages_once
        UNIQUE NULLS NOT DISTINCT (page_id, step, user_id, contact_method_id, after_minutes)
);
CREATE INDEX page_messages_due ON page_messages (due_at) WHERE state IN ('pending', 'sending');

-- The page's timeline: every attempt, its answer, and every skip.
CREATE TABLE page_events (
    id      bigserial PRIMARY KEY,
    page_id bigint NOT NULL REFERENCES pages(id) ON DELETE CASCADE,
    at      timestamptz NOT NULL,
    user_id bigint REFERENCES users(id) ON DELETE SET NULL,
    step    integer,
    kind    text,
    state   text NOT NULL CHECK (state IN ('sent', 'delivered', 'failed', 'skipped')),
    detail  text NOT NULL
);
CREATE INDEX page_events_page ON page_events (page_id, at, id);

-- Keys Rota signs with (acknowledge links), shared by every process.
CREATE TABLE signing_keys (
    purpose text PRIMARY KEY,
    key     bytea NOT NULL
);

-- The paging worker wakes when an escalation starts or a message is due,
-- in any process.
CREATE FUNCTION rota_paging_wake() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM added) THEN
        PERFORM pg_notify('rota_paging', '');
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER escalations_wake AFTER INSERT ON escalations
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION rota_paging_wake();
CREATE TRIGGER escalations_rewake AFTER UPDATE ON escalations
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION rota_paging_wake();
CREATE TRIGGER page_messages_wake AFTER INSERT ON page_messages
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION rota_paging_wake();
