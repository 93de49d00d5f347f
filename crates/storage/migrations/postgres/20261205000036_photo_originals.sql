-- A photo's original bytes move out of its row, into photo_originals.
--
-- SQLite keeps a row's values one after the other, a long value spilling over
-- a chain of overflow pages; a column after it is reached only by walking that
-- chain. `photos.bytes` came before the caption, the credit and the IPTC
-- fields, so every story page, list and card that showed a photo's caption read
-- the whole original first (a 4 MB photo: 1,000 pages). The photo's row now
-- holds its text and its size; the original is read only when it is served or
-- resized.
CREATE TABLE photo_originals (
    photo_id BIGINT PRIMARY KEY REFERENCES photos (id) ON DELETE CASCADE,
    bytes BYTEA NOT NULL
);
INSERT INTO photo_originals (photo_id, bytes) SELECT id, bytes FROM photos;
ALTER TABLE photos ADD COLUMN size BIGINT NOT NULL DEFAULT 0;
UPDATE photos SET size = LENGTH(bytes);
ALTER TABLE photos DROP COLUMN bytes;

-- The lists of a photo's resized copies and crops (every story page with a
-- photo reads them) come from indexes holding every column they read, not
-- from the rows, whose bytes fill a page each: about 26 pages a photo before.
ALTER TABLE photo_renditions ADD COLUMN size BIGINT NOT NULL DEFAULT 0;
UPDATE photo_renditions SET size = LENGTH(bytes);
CREATE INDEX photo_renditions_list ON photo_renditions (photo_id, width, mime, height, sha256, size);
CREATE INDEX photo_crop_renditions_list ON photo_crop_renditions (photo_id, ratio, width, mime, height, sha256);
