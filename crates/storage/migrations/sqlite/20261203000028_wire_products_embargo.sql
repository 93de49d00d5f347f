-- Subscriber products and embargoed pre-release (issue 14 items 4 and 5).
--
-- A product is a named set of filters on what a subscriber may take from the
-- wire: each list is space-separated codes (edition languages, section paths
-- with their subsections, IPTC Media Topic qcodes with their narrower topics,
-- IPTC genre qcodes), empty for "any"; min_urgency lets urgency 1 up to it
-- through (NULL: any). A subscriber without a product takes everything its own
-- editions and sections allow.
CREATE TABLE wire_products (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    editions TEXT NOT NULL DEFAULT '',
    sections TEXT NOT NULL DEFAULT '',
    subjects TEXT NOT NULL DEFAULT '',
    min_urgency INTEGER,
    genres TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

ALTER TABLE subscribers ADD COLUMN product_id INTEGER REFERENCES wire_products (id);
-- 1: the subscriber takes embargoed copy (scheduled stories released to the wire ahead of their time).
ALTER TABLE subscribers ADD COLUMN embargo INTEGER NOT NULL DEFAULT 0;

-- A scheduled story an editor released to the wire before its time: served,
-- with its embargo, to subscribers that take embargoed copy. The row goes when
-- the story leaves the schedule (published, unscheduled).
CREATE TABLE wire_releases (
    news_id INTEGER PRIMARY KEY REFERENCES stories (news_id) ON DELETE CASCADE,
    released_at INTEGER NOT NULL,
    released_by INTEGER REFERENCES users (id) ON DELETE SET NULL,
    actor TEXT NOT NULL
);

-- 1: the change left the story scheduled and released to the wire (embargoed copy).
ALTER TABLE story_changes ADD COLUMN embargoed INTEGER NOT NULL DEFAULT 0;
