-- Storms (issue 12): when many pages fire for one person, the messages due
-- for one contact method after the first few go out as one bundle ("14
-- more pages firing for Platform — acknowledge all"), and SMS and calls go
-- at most about once a minute per method. Each page's own message row
-- stays, so its timeline still says who was told, how and when.

-- One message that told a person of several pages by one method; its
-- "acknowledge all" link names it.
CREATE TABLE page_bundles (
    id                bigserial PRIMARY KEY,
    user_id           bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    contact_method_id bigint REFERENCES contact_methods(id) ON DELETE SET NULL,
    created_at        timestamptz NOT NULL
);

-- The bundle a message went out in (none: it went out on its own), and
-- when it was last handed to a sender: how many pages a method told lately
-- and when it last did are read from it.
ALTER TABLE page_messages
    ADD COLUMN bundle_id bigint REFERENCES page_bundles(id) ON DELETE SET NULL,
    ADD COLUMN attempted_at timestamptz;
CREATE INDEX page_messages_bundle ON page_messages (bundle_id) WHERE bundle_id IS NOT NULL;
CREATE INDEX page_messages_method_attempts ON page_messages (contact_method_id, attempted_at)
    WHERE attempted_at IS NOT NULL;
