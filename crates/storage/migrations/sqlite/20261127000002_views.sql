-- Story views in hourly buckets, for "most visited" over exact 24 h / 7 d / 30 d windows.
-- Nodes add their counts; old buckets are pruned.
CREATE TABLE story_views (
    news_id INTEGER NOT NULL REFERENCES stories (news_id) ON DELETE CASCADE,
    edition_id INTEGER NOT NULL,
    section_id INTEGER NOT NULL,
    hour INTEGER NOT NULL,
    views INTEGER NOT NULL,
    PRIMARY KEY (news_id, hour)
);
CREATE INDEX story_views_edition_hour ON story_views (edition_id, hour);
CREATE INDEX story_views_section_hour ON story_views (section_id, hour);
