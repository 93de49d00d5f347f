-- Spiked stories (issue 13 item 3): a draft or submitted story taken off
-- every desk and list, reversibly, until it is unspiked or purged after
-- `spike_expiry_days`. The row is the spike; the desk place it had is kept to
-- put it back on unspike (times in unix seconds).
CREATE TABLE story_spikes (
    news_id INTEGER PRIMARY KEY REFERENCES stories (news_id) ON DELETE CASCADE,
    spiked_at INTEGER NOT NULL,
    spiked_by INTEGER REFERENCES users (id) ON DELETE SET NULL,
    actor TEXT NOT NULL,
    desk_id INTEGER,
    stage_id INTEGER,
    assignee_id INTEGER
);
CREATE INDEX story_spikes_at ON story_spikes (spiked_at);

-- Breaking news (issue 13 item 5): a published story shown as a banner on
-- every page of its edition until `expires_at` or until it is cleared.
CREATE TABLE breaking_news (
    news_id INTEGER PRIMARY KEY REFERENCES stories (news_id) ON DELETE CASCADE,
    edition_id INTEGER NOT NULL REFERENCES editions (id),
    started_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    started_by INTEGER REFERENCES users (id) ON DELETE SET NULL,
    actor TEXT NOT NULL
);
CREATE INDEX breaking_news_edition ON breaking_news (edition_id, expires_at);
