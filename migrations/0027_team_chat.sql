-- A team's chat channel (issue 12): Slack, Mattermost or Microsoft Teams,
-- each posted to in its own format, for submitted handoffs and pages. The
-- address stays in teams.handoff_webhook_url (one channel per team); the
-- kind says how to write to it. Channels set before kinds existed were
-- sent Slack-compatible posts, so they are Slack.
ALTER TABLE teams ADD COLUMN chat_kind text CHECK (chat_kind IN ('slack', 'mattermost', 'teams'));
UPDATE teams SET chat_kind = 'slack' WHERE handoff_webhook_url IS NOT NULL;
ALTER TABLE teams ADD CONSTRAINT teams_chat_kind_with_url
    CHECK ((chat_kind IS NULL) = (handoff_webhook_url IS NULL));

-- The one post a page makes to its team's channel when its escalation
-- starts: once per page (the key), claimed under a lease while sending and
-- retried like the page's other messages. The channel is the one set when
-- the page started; the body is written when it is sent (its acknowledge
-- link is signed then).
CREATE TABLE page_chat_posts (
    page_id       bigint PRIMARY KEY REFERENCES pages(id) ON DELETE CASCADE,
    kind          text NOT NULL CHECK (kind IN ('slack', 'mattermost', 'teams')),
    url           text NOT NULL,
    step          integer NOT NULL,
    -- Whom the acknowledge link acts for: the first person paged.
    paged_user_id bigint REFERENCES users(id) ON DELETE SET NULL,
    -- Who is being paged, in words ("Alex (primary)").
    paged         text NOT NULL,
    state         text NOT NULL CHECK (state IN ('pending', 'sending', 'delivered', 'failed', 'cancelled')),
    due_at        timestamptz NOT NULL,
    attempts      integer NOT NULL DEFAULT 0,
    created_at    timestamptz NOT NULL
);
CREATE INDEX page_chat_posts_due ON page_chat_posts (due_at) WHERE state IN ('pending', 'sending');

CREATE TRIGGER page_chat_posts_wake AFTER INSERT ON page_chat_posts
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION rota_paging_wake();
