-- Readers' comments, their moderation, the database-kept rate limits, and
-- site-wide settings (the comment form's signing secret, shared by all nodes).
-- Times are unix seconds, UTC.

CREATE TABLE comments (
    id BIGSERIAL PRIMARY KEY,
    news_id BIGINT NOT NULL REFERENCES stories (news_id) ON DELETE CASCADE,
    edition_id BIGINT NOT NULL,
    -- one level of threading: a reply always points at a top-level comment
    parent_id BIGINT REFERENCES comments (id) ON DELETE CASCADE,
    author_name TEXT NOT NULL,
    -- optional, never shown
    author_email TEXT NOT NULL DEFAULT '',
    -- exactly as typed
    body TEXT NOT NULL,
    -- normalised text, for duplicate detection
    body_key TEXT NOT NULL,
    -- keyed hash of the client address (no address is stored)
    ip_key TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'rejected', 'spam')),
    created_at BIGINT NOT NULL,
    moderated_at BIGINT,
    moderated_by TEXT
);
CREATE INDEX comments_story ON comments (news_id, status, created_at, id);
CREATE INDEX comments_queue ON comments (status, id);
CREATE INDEX comments_duplicates ON comments (body_key, created_at);

-- Who changed a comment's status, and when.
CREATE TABLE comment_moderation_log (
    id BIGSERIAL PRIMARY KEY,
    comment_id BIGINT NOT NULL REFERENCES comments (id) ON DELETE CASCADE,
    status TEXT NOT NULL,
    actor TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX comment_moderation_log_comment ON comment_moderation_log (comment_id, id);

-- Fixed-window counters (`ip:<key>`, `story:<id>`), shared by every node.
CREATE TABLE comment_rate (
    bucket TEXT NOT NULL,
    window_start BIGINT NOT NULL,
    hits BIGINT NOT NULL,
    PRIMARY KEY (bucket, window_start)
);
CREATE INDEX comment_rate_window ON comment_rate (window_start);

CREATE TABLE site_settings (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- Per story: comments closed by an editor.
ALTER TABLE stories ADD COLUMN comments_closed BIGINT NOT NULL DEFAULT 0;
-- Per edition: 'pre' or 'post'; NULL follows the site's configured default.
ALTER TABLE editions ADD COLUMN comment_moderation TEXT;
