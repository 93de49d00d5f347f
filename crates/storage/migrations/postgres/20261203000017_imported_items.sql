-- Imports from other systems (WordPress, ...): which of our records each
-- outside item became, so importing the same file again updates instead of
-- duplicating, and the old addresses of what was imported (301 redirects).

-- `source` names the other site (a WordPress export's blog address), `kind`
-- what the item was (`post`, `comment`, `attachment`), `external_id` its id
-- there; `local_id` is the News ID, comment id or photo id it became here.
CREATE TABLE imported_items (
    source TEXT NOT NULL,
    kind TEXT NOT NULL,
    external_id TEXT NOT NULL,
    local_id BIGINT NOT NULL,
    imported_at BIGINT NOT NULL,
    PRIMARY KEY (source, kind, external_id)
);

-- Redirects gain the kind 'path': old_path is an old site's address as
-- normalized by the domain's wxr::plan::old_path (`/2011/01/slug`, `/?p=12`),
-- new_path the site path it moved to (`/news/5/slug`). The CHECK constraint is
-- widened by rebuilding the table (SQLite cannot alter a constraint; the same
-- statements run on PostgreSQL).
CREATE TABLE redirects_widened (
    edition_id BIGINT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('section', 'tag', 'path')),
    old_path TEXT NOT NULL,
    new_path TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (edition_id, kind, old_path)
);
INSERT INTO redirects_widened (edition_id, kind, old_path, new_path, created_at)
    SELECT edition_id, kind, old_path, new_path, created_at FROM redirects;
DROP TABLE redirects;
ALTER TABLE redirects_widened RENAME TO redirects;
-- Old addresses are looked up by path whatever the edition.
CREATE INDEX redirects_path ON redirects (kind, old_path);
