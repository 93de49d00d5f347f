-- Stories fetched from ingested wire items: which item (source and guid) and
-- which version each story was made from, with that version's headline and
-- body, so that a newer version of the item can be shown to the desk as a
-- difference ("source updated to version N"). Times are Unix seconds (UTC).
CREATE TABLE story_sources (
    news_id BIGINT PRIMARY KEY REFERENCES stories (news_id) ON DELETE CASCADE,
    source TEXT NOT NULL,
    guid TEXT NOT NULL,
    version BIGINT NOT NULL,
    headline TEXT NOT NULL,
    body_html TEXT NOT NULL,
    fetched_at BIGINT NOT NULL,
    fetched_by BIGINT REFERENCES users (id) ON DELETE SET NULL
);
CREATE INDEX story_sources_item ON story_sources (source, guid);
