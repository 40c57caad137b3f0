-- The Now page lists the open pages paging the reader, read through the
-- caches: page messages (written by the paging worker of any process)
-- announce their changes like the other tables the caches read (0002).
CREATE TRIGGER page_messages_changed AFTER INSERT OR UPDATE OR DELETE ON page_messages
    FOR EACH STATEMENT EXECUTE FUNCTION rota_notify_changed();
