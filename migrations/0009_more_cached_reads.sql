-- The rota page and the navigation are now read through the caches too:
-- changes to what they show announce themselves like the others (0002).
CREATE TRIGGER recovery_days_changed AFTER INSERT OR UPDATE OR DELETE ON recovery_days
    FOR EACH STATEMENT EXECUTE FUNCTION rota_notify_changed();
CREATE TRIGGER holidays_changed AFTER INSERT OR UPDATE OR DELETE ON holidays
    FOR EACH STATEMENT EXECUTE FUNCTION rota_notify_changed();
CREATE TRIGGER handoffs_changed AFTER INSERT OR UPDATE OR DELETE ON handoffs
    FOR EACH STATEMENT EXECUTE FUNCTION rota_notify_changed();
CREATE TRIGGER handoff_acknowledgements_changed AFTER INSERT OR UPDATE OR DELETE ON handoff_acknowledgements
    FOR EACH STATEMENT EXECUTE FUNCTION rota_notify_changed();
CREATE TRIGGER notifications_changed AFTER INSERT OR DELETE OR UPDATE OF read_at ON notifications
    FOR EACH STATEMENT EXECUTE FUNCTION rota_notify_changed();
CREATE TRIGGER swap_requests_changed AFTER INSERT OR UPDATE OR DELETE ON swap_requests
    FOR EACH STATEMENT EXECUTE FUNCTION rota_notify_changed();
