-- Swaps, covers, overrides and leave.

-- A person's leave: whole days in their own zone, end inclusive. The
-- instants are fixed when it is recorded, so the schedule and "needs cover"
-- compare instants with instants.
CREATE TABLE leave (
    id         bigserial PRIMARY KEY,
    user_id    bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    start_date date NOT NULL,
    end_date   date NOT NULL,
    starts_at  timestamptz NOT NULL,
    ends_at    timestamptz NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT leave_dates CHECK (start_date <= end_date AND starts_at < ends_at),
    CONSTRAINT leave_no_overlap EXCLUDE USING gist
        (user_id WITH =, daterange(start_date, end_date, '[]') WITH &&)
);
CREATE INDEX leave_user_time ON leave (user_id, starts_at);
CREATE TRIGGER leave_changed AFTER INSERT OR UPDATE OR DELETE ON leave
    FOR EACH STATEMENT EXECUTE FUNCTION rota_notify_changed();

-- A member's request to exchange two shifts (swap) or to hand part of one
-- to someone (cover). Nothing in the schedule changes until it is applied.
-- The requested spans are kept as instants: shift rows are replaced when
-- the schedule changes, so a request re-checks who holds the span.
CREATE TABLE swap_requests (
    id                    bigserial PRIMARY KEY,
    team_id               bigint NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
    rotation_id           bigint NOT NULL REFERENCES rotations(id) ON DELETE CASCADE,
    kind                  text NOT NULL CHECK (kind IN ('swap', 'cover')),
    state                 text NOT NULL DEFAULT 'proposed'
        CHECK (state IN ('proposed', 'accepted', 'applied', 'declined', 'rejected', 'cancelled', 'expired')),
    requester_id          bigint NOT NULL REFERENCES users(id),
    shift_id              bigint NOT NULL,
    role                  text NOT NULL CHECK (role IN ('primary', 'secondary')),
    starts_at             timestamptz NOT NULL,
    ends_at               timestamptz NOT NULL,
    -- Who takes the requester's span; NULL while a cover is open to the team.
    counterpart_id        bigint REFERENCES users(id),
    counterpart_shift_id  bigint,
    counterpart_role      text CHECK (counterpart_role IN ('primary', 'secondary')),
    counterpart_starts_at timestamptz,
    counterpart_ends_at   timestamptz,
    note                  text NOT NULL DEFAULT '',
    decided_by            bigint REFERENCES users(id),
    reason                text,
    created_at            timestamptz NOT NULL,
    updated_at            timestamptz NOT NULL,
    CONSTRAINT swap_requests_span CHECK (starts_at < ends_at),
    CONSTRAINT swap_requests_swap_has_counterpart CHECK (
        kind = 'cover' OR (counterpart_id IS NOT NULL AND counterpart_role IS NOT NULL
            AND counterpart_starts_at < counterpart_ends_at))
);
CREATE INDEX swap_requests_team ON swap_requests (team_id, created_at);
CREATE INDEX swap_requests_requester ON swap_requests (requester_id);
CREATE INDEX swap_requests_counterpart ON swap_requests (counterpart_id);

-- Every applied change to who holds a role: an overlay on the generated
-- weeks. It is re-applied when a settings change regenerates the weeks it
-- falls in, so approved swaps and overrides outlive rotation edits; one
-- that can no longer hold (its person left, or now holds the other role)
-- lapses, and the lapse is audited. Kind 'leave' records a week owed by
-- someone whose turn fell in their leave, taken when that week is generated.
CREATE TABLE schedule_changes (
    id         bigserial PRIMARY KEY,
    rotation_id bigint NOT NULL REFERENCES rotations(id) ON DELETE CASCADE,
    role       text NOT NULL CHECK (role IN ('primary', 'secondary')),
    user_id    bigint NOT NULL REFERENCES users(id),
    starts_at  timestamptz NOT NULL,
    ends_at    timestamptz NOT NULL,
    kind       text NOT NULL CHECK (kind IN ('swap', 'cover', 'override', 'leave')),
    request_id bigint REFERENCES swap_requests(id) ON DELETE SET NULL,
    reason     text NOT NULL DEFAULT '',
    created_by bigint REFERENCES users(id),
    created_at timestamptz NOT NULL,
    lapsed_at  timestamptz,
    CONSTRAINT schedule_changes_span CHECK (starts_at < ends_at)
);
CREATE INDEX schedule_changes_rotation ON schedule_changes (rotation_id, ends_at) WHERE lapsed_at IS NULL;

-- Which change put a shift's holder there, and whom they stand in for.
ALTER TABLE shifts
    ADD COLUMN change_id bigint REFERENCES schedule_changes(id) ON DELETE SET NULL,
    ADD COLUMN replaces_user_id bigint REFERENCES users(id);

-- In-app notifications; e-mail is sent from the same rows when SMTP is set.
CREATE TABLE notifications (
    id            bigserial PRIMARY KEY,
    user_id       bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    team_id       bigint REFERENCES teams(id) ON DELETE CASCADE,
    message       text NOT NULL,
    link          text NOT NULL,
    created_at    timestamptz NOT NULL,
    read_at       timestamptz,
    mail_state    text NOT NULL DEFAULT 'none' CHECK (mail_state IN ('none', 'pending', 'sent', 'failed')),
    mail_attempts integer NOT NULL DEFAULT 0,
    mail_next_at  timestamptz,
    mail_error    text
);
CREATE INDEX notifications_user ON notifications (user_id, created_at DESC);
CREATE INDEX notifications_unread ON notifications (user_id) WHERE read_at IS NULL;
CREATE INDEX notifications_mail_due ON notifications (mail_next_at) WHERE mail_state = 'pending';
