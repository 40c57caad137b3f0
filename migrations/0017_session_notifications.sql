-- Sessions are read through an in-process cache (auth::sessions), so a
-- change to them announces itself like the other cached tables (0002).
-- The table is tower-sessions' own; it is created here, as its store would
-- (same columns, IF NOT EXISTS), so that the trigger has a table to sit on
-- before the store's start-up check runs.
CREATE SCHEMA IF NOT EXISTS tower_sessions;
CREATE TABLE IF NOT EXISTS tower_sessions.session (
    id text PRIMARY KEY NOT NULL,
    data bytea NOT NULL,
    expiry_date timestamptz NOT NULL
);

-- A table outside the search path is announced by its qualified name
-- (`tower_sessions.session`), so it cannot be taken for a table of ours.
CREATE OR REPLACE FUNCTION rota_notify_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF pg_table_is_visible(TG_RELID) THEN
        PERFORM pg_notify('rota_changed', TG_TABLE_NAME);
    ELSE
        PERFORM pg_notify('rota_changed', TG_TABLE_SCHEMA || '.' || TG_TABLE_NAME);
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER session_changed AFTER INSERT OR UPDATE OR DELETE ON tower_sessions.session
    FOR EACH STATEMENT EXECUTE FUNCTION rota_notify_changed();
