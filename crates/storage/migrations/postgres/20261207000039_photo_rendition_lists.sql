-- Each photo's list of resized copies and crops, kept in its row.
--
-- Every story page not yet cached shows its photo's copies and crops (about 26
-- of them: sizes, formats, content addresses). Its query built that list from
-- the two tables for every page, though it changes only when a copy or crop is
-- made or replaced: on PostgreSQL a quarter of the server's work for a page
-- (`pgbench` of the page's query at 1,000,000 stories: ~12,000 queries a
-- second with the list built, ~16,000 with it read from the photo's row).
-- The list is now kept in `photos.renditions`, a JSON array of
-- [kind, ratio, sha256, mime, width, height, size] (kind 0 a copy, 1 a crop;
-- in no particular order), by the triggers below, whatever writes the two
-- tables, in the writing transaction.
ALTER TABLE photos ADD COLUMN renditions TEXT NOT NULL DEFAULT '[]';

-- Kept compressed with LZ4 where the server has it (the list is ~2.8 KB).
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_settings WHERE name = 'default_toast_compression' AND 'lz4' = ANY (enumvals)) THEN
        EXECUTE 'ALTER TABLE photos ALTER COLUMN renditions SET COMPRESSION lz4';
    END IF;
END
$$;

-- A photo's list as the two tables give it now.
CREATE VIEW photo_rendition_lists AS SELECT p.id AS photo_id, (
    SELECT COALESCE(json_agg(json_build_array(r.kind, r.ratio, r.sha256, r.mime, r.width, r.height, r.size)), '[]')::text FROM (
        SELECT 0 AS kind, '' AS ratio, sha256, mime, width, height, size FROM photo_renditions WHERE photo_id = p.id
        UNION ALL
        SELECT 1, ratio, sha256, mime, width, height, 0 FROM photo_crop_renditions WHERE photo_id = p.id
    ) r
) AS list FROM photos p;

UPDATE photos SET renditions = (SELECT l.list FROM photo_rendition_lists l WHERE l.photo_id = photos.id);

-- The list made again for the photo of each row written.
CREATE FUNCTION photo_renditions_relist() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        UPDATE photos SET renditions = (SELECT l.list FROM photo_rendition_lists l WHERE l.photo_id = photos.id)
        WHERE id = OLD.photo_id;
    END IF;
    IF TG_OP = 'INSERT' OR (TG_OP = 'UPDATE' AND NEW.photo_id <> OLD.photo_id) THEN
        UPDATE photos SET renditions = (SELECT l.list FROM photo_rendition_lists l WHERE l.photo_id = photos.id)
        WHERE id = NEW.photo_id;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER photo_renditions_listed AFTER INSERT OR UPDATE OR DELETE ON photo_renditions
    FOR EACH ROW EXECUTE FUNCTION photo_renditions_relist();
CREATE TRIGGER photo_crop_renditions_listed AFTER INSERT OR UPDATE OR DELETE ON photo_crop_renditions
    FOR EACH ROW EXECUTE FUNCTION photo_renditions_relist();
