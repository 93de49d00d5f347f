-- Story text compressed with LZ4 on PostgreSQL, where the server has it
-- (PostgreSQL 14 and later built with lz4, as Debian's packages and the
-- official images are). A row longer than about 2 KB has its longest values
-- compressed; real articles are, and a story page not yet cached reads
-- body_html and body_source back. pglz, the default, compresses and
-- decompresses several times slower (6.5 % of the server's CPU while the
-- demo fill stored 1,000,000 stories). Values written before keep pglz; both
-- kinds read back alike.
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_settings WHERE name = 'default_toast_compression' AND 'lz4' = ANY (enumvals)) THEN
        EXECUTE 'ALTER TABLE stories ALTER COLUMN body_html SET COMPRESSION lz4, '
            'ALTER COLUMN body_source SET COMPRESSION lz4';
        EXECUTE 'ALTER TABLE story_revisions ALTER COLUMN body_source SET COMPRESSION lz4';
    END IF;
END
$$;
