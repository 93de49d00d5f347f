-- Edit locks: who has a story open in the editor, as a lease that the
-- editor's heartbeat renews (times in unix seconds). One row per story; a
-- lock is live while expires_at is in the future. Taken with one upsert, so
-- concurrent editors on any node sharing the database see one holder.
CREATE TABLE story_locks (
    news_id BIGINT PRIMARY KEY REFERENCES stories (news_id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    taken_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
