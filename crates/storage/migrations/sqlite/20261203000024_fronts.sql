-- Curated fronts: per edition, the home page (section_id NULL) and each
-- section front may have a pinned top story and ordered featured slots; the
-- rest of the page stays automatic (newest first). Editors work on a draft
-- arrangement and publish it: readers see the live one.
-- `version` grows with every write (a draft save or a publish), so two
-- editors cannot overwrite each other silently.
CREATE TABLE fronts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    edition_id INTEGER NOT NULL REFERENCES editions (id) ON DELETE CASCADE,
    section_id INTEGER REFERENCES sections (id) ON DELETE CASCADE,
    version INTEGER NOT NULL,
    saved_at INTEGER NOT NULL,
    saved_by INTEGER REFERENCES users (id) ON DELETE SET NULL,
    published_at INTEGER,
    published_by INTEGER REFERENCES users (id) ON DELETE SET NULL
);
CREATE UNIQUE INDEX fronts_place ON fronts (edition_id, COALESCE(section_id, 0));

-- The slots of a front's draft and live arrangement: position 0 is the
-- pinned top story, 1, 2, ... the featured slots in order.
CREATE TABLE front_slots (
    front_id INTEGER NOT NULL REFERENCES fronts (id) ON DELETE CASCADE,
    stage TEXT NOT NULL CHECK (stage IN ('draft', 'live')),
    position INTEGER NOT NULL,
    news_id INTEGER NOT NULL REFERENCES stories (news_id) ON DELETE CASCADE,
    PRIMARY KEY (front_id, stage, position)
);
CREATE INDEX front_slots_story ON front_slots (news_id);
