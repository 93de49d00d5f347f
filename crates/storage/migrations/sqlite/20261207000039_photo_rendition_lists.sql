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

-- SQLite keeps text as it is: no compression to set.

-- A photo's list as the two tables give it now.
CREATE VIEW photo_rendition_lists AS SELECT p.id AS photo_id, (
    SELECT json_group_array(json_array(r.kind, r.ratio, r.sha256, r.mime, r.width, r.height, r.size)) FROM (
        SELECT 0 AS kind, '' AS ratio, sha256, mime, width, height, size FROM photo_renditions WHERE photo_id = p.id
        UNION ALL
        SELECT 1, ratio, sha256, mime, width, height, 0 FROM photo_crop_renditions WHERE photo_id = p.id
    ) r
) AS list FROM photos p;

UPDATE photos SET renditions = (SELECT l.list FROM photo_rendition_lists l WHERE l.photo_id = photos.id);

-- The list made again for the photo of each row written.
CREATE TRIGGER photo_renditions_listed_on_insert AFTER INSERT ON photo_renditions BEGIN
    UPDATE photos SET renditions = (SELECT l.list FROM photo_rendition_lists l WHERE l.photo_id = photos.id)
    WHERE id = NEW.photo_id;
END;
CREATE TRIGGER photo_renditions_listed_on_update AFTER UPDATE ON photo_renditions BEGIN
    UPDATE photos SET renditions = (SELECT l.list FROM photo_rendition_lists l WHERE l.photo_id = photos.id)
    WHERE id IN (OLD.photo_id, NEW.photo_id);
END;
CREATE TRIGGER photo_renditions_listed_on_delete AFTER DELETE ON photo_renditions BEGIN
    UPDATE photos SET renditions = (SELECT l.list FROM photo_rendition_lists l WHERE l.photo_id = photos.id)
    WHERE id = OLD.photo_id;
END;
CREATE TRIGGER photo_crop_renditions_listed_on_insert AFTER INSERT ON photo_crop_renditions BEGIN
    UPDATE photos SET renditions = (SELECT l.list FROM photo_rendition_lists l WHERE l.photo_id = photos.id)
    WHERE id = NEW.photo_id;
END;
CREATE TRIGGER photo_crop_renditions_listed_on_update AFTER UPDATE ON photo_crop_renditions BEGIN
    UPDATE photos SET renditions = (SELECT l.list FROM photo_rendition_lists l WHERE l.photo_id = photos.id)
    WHERE id IN (OLD.photo_id, NEW.photo_id);
END;
CREATE TRIGGER photo_crop_renditions_listed_on_delete AFTER DELETE ON photo_crop_renditions BEGIN
    UPDATE photos SET renditions = (SELECT l.list FROM photo_rendition_lists l WHERE l.photo_id = photos.id)
    WHERE id = OLD.photo_id;
END;
