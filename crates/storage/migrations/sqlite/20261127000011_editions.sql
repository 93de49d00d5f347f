-- Editions: the calendar and digits each edition shows dates and numbers in,
-- and the links between stories that are translations of each other.

ALTER TABLE editions ADD COLUMN calendar TEXT NOT NULL DEFAULT 'gregorian'
    CHECK (calendar IN ('gregorian', 'solar_hijri', 'hijri'));
ALTER TABLE editions ADD COLUMN digits TEXT NOT NULL DEFAULT 'latin'
    CHECK (digits IN ('latin', 'persian', 'arabic'));

-- One row per story that belongs to a group of translations; the group is
-- named by the News ID of its first story (which has a row of its own).
CREATE TABLE story_translations (
    news_id BIGINT PRIMARY KEY REFERENCES stories (news_id) ON DELETE CASCADE,
    group_id BIGINT NOT NULL
);
CREATE INDEX story_translations_group ON story_translations (group_id);
