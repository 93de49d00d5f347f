-- Old addresses of renamed or moved sections and merged tags, so links keep working (301).
CREATE TABLE redirects (
    edition_id BIGINT NOT NULL,
    -- 'section' (old_path and new_path are section paths) or 'tag' (slugs)
    kind TEXT NOT NULL CHECK (kind IN ('section', 'tag')),
    old_path TEXT NOT NULL,
    new_path TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (edition_id, kind, old_path)
);
