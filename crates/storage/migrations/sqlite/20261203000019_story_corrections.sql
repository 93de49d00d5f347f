-- Every public correction of a story, kept in order (a story's page lists
-- them all; `/corrections` lists an edition's recent ones). Replaces reading
-- `stories.correction_note`, which kept only the last note; that column stays
-- (written with the newest note) for older readers.
CREATE TABLE story_corrections (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    news_id INTEGER NOT NULL REFERENCES stories (news_id) ON DELETE CASCADE,
    edition_id INTEGER NOT NULL,
    note TEXT NOT NULL,
    actor TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL
);
CREATE INDEX story_corrections_story ON story_corrections (news_id, created_at, id);
CREATE INDEX story_corrections_edition ON story_corrections (edition_id, created_at, id);

-- The one note each story had so far, dated by its public update.
INSERT INTO story_corrections (news_id, edition_id, note, actor, created_at)
SELECT news_id, edition_id, correction_note, '', COALESCE(updated_at, modified_at)
FROM stories WHERE correction_note <> '';
