-- Who resolved a page in Rota (the page view and the API say so, as they
-- do who acknowledged); NULL when the alerting tool resolved it.
ALTER TABLE pages ADD COLUMN resolved_by bigint REFERENCES users(id) ON DELETE SET NULL;
