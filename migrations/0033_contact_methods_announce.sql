-- The team page now names who cannot be paged (no confirmed contact
-- method), read through the caches: contact methods announce their
-- changes like the other tables the caches read (0002).
CREATE TRIGGER contact_methods_changed AFTER INSERT OR UPDATE OR DELETE ON contact_methods
    FOR EACH STATEMENT EXECUTE FUNCTION rota_notify_changed();
