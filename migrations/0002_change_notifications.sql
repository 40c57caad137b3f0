-- Every change to what the read caches hold is announced on one channel, so
-- each `rota serve` process drops its caches, whoever made the change: a
-- request in another process, the background job, the command line or SQL.
CREATE FUNCTION rota_notify_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('rota_changed', TG_TABLE_NAME);
    RETURN NULL;
END;
$$;

CREATE TRIGGER users_changed AFTER INSERT OR UPDATE OR DELETE ON users
    FOR EACH STATEMENT EXECUTE FUNCTION rota_notify_changed();
CREATE TRIGGER api_tokens_changed AFTER INSERT OR UPDATE OR DELETE ON api_tokens
    FOR EACH STATEMENT EXECUTE FUNCTION rota_notify_changed();
CREATE TRIGGER teams_changed AFTER INSERT OR UPDATE OR DELETE ON teams
    FOR EACH STATEMENT EXECUTE FUNCTION rota_notify_changed();
CREATE TRIGGER memberships_changed AFTER INSERT OR UPDATE OR DELETE ON memberships
    FOR EACH STATEMENT EXECUTE FUNCTION rota_notify_changed();
CREATE TRIGGER rotations_changed AFTER INSERT OR UPDATE OR DELETE ON rotations
    FOR EACH STATEMENT EXECUTE FUNCTION rota_notify_changed();
CREATE TRIGGER rotation_versions_changed AFTER INSERT OR UPDATE OR DELETE ON rotation_versions
    FOR EACH STATEMENT EXECUTE FUNCTION rota_notify_changed();
CREATE TRIGGER shifts_changed AFTER INSERT OR UPDATE OR DELETE ON shifts
    FOR EACH STATEMENT EXECUTE FUNCTION rota_notify_changed();
