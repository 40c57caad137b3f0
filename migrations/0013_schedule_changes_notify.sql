-- The cached shifts (on call, the rota's window) show which change put a
-- holder there, read from schedule_changes (db::shifts). Changes to it
-- announce themselves like every other table a cache reads (0002, and
-- the declarations in src/cache).
CREATE TRIGGER schedule_changes_changed AFTER INSERT OR UPDATE OR DELETE ON schedule_changes
    FOR EACH STATEMENT EXECUTE FUNCTION rota_notify_changed();
