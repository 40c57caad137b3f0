-- Sign-in throttling (issue 11, finding 3) and token limits (finding 12).

-- Each sign-in attempt is reserved as a row before its password is checked,
-- so concurrent guesses count each other; a success marks its own row. The
-- client address (an IPv4 address or an IPv6 /64) limits failures per
-- address across all accounts.
ALTER TABLE login_attempts ADD COLUMN id bigserial PRIMARY KEY;
ALTER TABLE login_attempts ADD COLUMN client text;
CREATE INDEX login_attempts_client_at ON login_attempts (client, at) WHERE NOT succeeded;

-- A personal token may be read-only, and may expire.
ALTER TABLE api_tokens ADD COLUMN read_only boolean NOT NULL DEFAULT false;
ALTER TABLE api_tokens ADD COLUMN expires_at timestamptz;

ALTER TABLE integration_tokens ADD COLUMN last_used_at timestamptz;

-- Recording when a token was last used must not make every process drop
-- its caches, which it would a few times a minute: an update announces itself
-- only when it leaves `last_used_at` alone (every other update does).
DROP TRIGGER api_tokens_changed ON api_tokens;
CREATE TRIGGER api_tokens_changed AFTER INSERT OR DELETE ON api_tokens
    FOR EACH STATEMENT EXECUTE FUNCTION rota_notify_changed();
CREATE TRIGGER api_tokens_updated AFTER UPDATE ON api_tokens
    FOR EACH ROW WHEN (OLD.last_used_at IS NOT DISTINCT FROM NEW.last_used_at)
    EXECUTE FUNCTION rota_notify_changed();

DROP TRIGGER integration_tokens_changed ON integration_tokens;
CREATE TRIGGER integration_tokens_changed AFTER INSERT OR DELETE ON integration_tokens
    FOR EACH STATEMENT EXECUTE FUNCTION rota_notify_changed();
CREATE TRIGGER integration_tokens_updated AFTER UPDATE ON integration_tokens
    FOR EACH ROW WHEN (OLD.last_used_at IS NOT DISTINCT FROM NEW.last_used_at)
    EXECUTE FUNCTION rota_notify_changed();
