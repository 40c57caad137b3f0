-- A NOTIFY holds one lock for the whole database from the moment its
-- transaction starts to commit until the commit is on disk, so
-- transactions that notify commit one at a time. The ingest writers
-- (`ops::ingest`) commit many batches of pages at once; they set
-- `rota.announce` to 'after' for their transaction and announce `pages`
-- themselves once it has committed, one announcement for many batches.
-- Every other change is announced by its trigger as before.
CREATE OR REPLACE FUNCTION rota_notify_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('rota.announce', true) IS NOT DISTINCT FROM 'after' THEN
        RETURN NULL;
    END IF;
    IF pg_table_is_visible(TG_RELID) THEN
        PERFORM pg_notify('rota_changed', TG_TABLE_NAME);
    ELSE
        PERFORM pg_notify('rota_changed', TG_TABLE_SCHEMA || '.' || TG_TABLE_NAME);
    END IF;
    RETURN NULL;
END;
$$;

-- The same for the paging worker's wake-up (migration 0018): a batch that
-- starts escalations wakes the workers after its commit.
CREATE OR REPLACE FUNCTION rota_paging_wake() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('rota.announce', true) IS NOT DISTINCT FROM 'after' THEN
        RETURN NULL;
    END IF;
    IF EXISTS (SELECT 1 FROM added) THEN
        PERFORM pg_notify('rota_paging', '');
    END IF;
    RETURN NULL;
END $$;
