-- Story views in hourly buckets, for "most visited" over exact 24 h / 7 d / 30 d windows.
-- Nodes add their counts; old buckets are pruned.
CREATE TABLE story_views (
    news_id BIGINT NOT NULL REFERENCES stories (news_id) ON DELETE CASCADE,
    edition_id BIGINT NOT NULL,
    section_id BIGINT NOT NULL,
    hour BIGINT NOT NULL,
    views BIGINT NOT NULL,
    PRIMARY KEY (news_id, hour)
);
CREATE INDEX story_views_edition_hour ON story_views (edition_id, hour);
CREATE INDEX story_views_section_hour ON story_views (section_id, hour);
