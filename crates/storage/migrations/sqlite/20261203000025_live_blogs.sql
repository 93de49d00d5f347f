-- Live blogs (issue 17): a story whose `live_since` is set is covered live
-- (from then, or from its first publish if later); `live_until` is set when
-- the coverage ends. Its short updates are kept in `story_updates`, newest
-- last by id; at most one per story is pinned to the top.
ALTER TABLE stories ADD COLUMN live_since INTEGER;
ALTER TABLE stories ADD COLUMN live_until INTEGER;

CREATE TABLE story_updates (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    news_id INTEGER NOT NULL REFERENCES stories (news_id) ON DELETE CASCADE,
    headline TEXT NOT NULL DEFAULT '',
    body_source TEXT NOT NULL,
    body_format TEXT NOT NULL,
    body_html TEXT NOT NULL,
    photo_id INTEGER REFERENCES photos (id),
    pinned INTEGER NOT NULL DEFAULT 0,
    actor TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL,
    modified_at INTEGER NOT NULL
);
CREATE INDEX story_updates_story ON story_updates (news_id, id);
