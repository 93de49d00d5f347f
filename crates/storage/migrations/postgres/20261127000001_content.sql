-- Content model: editions, the section tree, stories and what hangs on them.
-- Times are unix seconds, UTC.

CREATE TABLE editions (
    id BIGSERIAL PRIMARY KEY,
    lang TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    direction TEXT NOT NULL DEFAULT 'ltr' CHECK (direction IN ('ltr', 'rtl')),
    time_zone TEXT NOT NULL,
    is_default BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX editions_one_default ON editions (is_default) WHERE is_default = 1;

CREATE TABLE sections (
    id BIGSERIAL PRIMARY KEY,
    edition_id BIGINT NOT NULL REFERENCES editions (id),
    parent_id BIGINT REFERENCES sections (id),
    slug TEXT NOT NULL,
    name TEXT NOT NULL,
    -- slash-joined slugs from the top: unique per edition, so slugs are unique among siblings
    path TEXT NOT NULL,
    position BIGINT NOT NULL DEFAULT 0,
    UNIQUE (edition_id, path)
);

CREATE TABLE photos (
    id BIGSERIAL PRIMARY KEY,
    sha256 TEXT NOT NULL UNIQUE,
    mime TEXT NOT NULL,
    width BIGINT NOT NULL,
    height BIGINT NOT NULL,
    bytes BYTEA NOT NULL,
    caption TEXT NOT NULL DEFAULT '',
    credit TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL
);

CREATE TABLE stories (
    news_id BIGINT PRIMARY KEY,
    edition_id BIGINT NOT NULL REFERENCES editions (id),
    section_id BIGINT NOT NULL REFERENCES sections (id),
    slug TEXT NOT NULL,
    headline TEXT NOT NULL,
    lead TEXT NOT NULL,
    body_source TEXT NOT NULL,
    body_format TEXT NOT NULL CHECK (body_format IN ('text', 'markdown', 'html')),
    body_html TEXT NOT NULL,
    photo_id BIGINT REFERENCES photos (id),
    status TEXT NOT NULL CHECK (status IN ('draft', 'submitted', 'scheduled', 'published', 'unpublished', 'killed')),
    published_at BIGINT,
    updated_at BIGINT,
    created_at BIGINT NOT NULL,
    modified_at BIGINT NOT NULL,
    version BIGINT NOT NULL DEFAULT 1
);
CREATE INDEX stories_edition_published ON stories (edition_id, status, published_at DESC, news_id DESC);
CREATE INDEX stories_section_published ON stories (section_id, status, published_at DESC, news_id DESC);

CREATE TABLE tags (
    id BIGSERIAL PRIMARY KEY,
    edition_id BIGINT NOT NULL REFERENCES editions (id),
    slug TEXT NOT NULL,
    name TEXT NOT NULL,
    UNIQUE (edition_id, slug)
);

CREATE TABLE story_tags (
    news_id BIGINT NOT NULL REFERENCES stories (news_id) ON DELETE CASCADE,
    tag_id BIGINT NOT NULL REFERENCES tags (id) ON DELETE CASCADE,
    position BIGINT NOT NULL,
    PRIMARY KEY (news_id, tag_id)
);
CREATE INDEX story_tags_tag ON story_tags (tag_id, news_id);

CREATE TABLE authors (
    id BIGSERIAL PRIMARY KEY,
    slug TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL
);

CREATE TABLE story_authors (
    news_id BIGINT NOT NULL REFERENCES stories (news_id) ON DELETE CASCADE,
    author_id BIGINT NOT NULL REFERENCES authors (id) ON DELETE CASCADE,
    position BIGINT NOT NULL,
    PRIMARY KEY (news_id, author_id)
);
CREATE INDEX story_authors_author ON story_authors (author_id, news_id);

-- Every save of a story, so it can be shown, compared and restored.
CREATE TABLE story_revisions (
    id BIGSERIAL PRIMARY KEY,
    news_id BIGINT NOT NULL REFERENCES stories (news_id) ON DELETE CASCADE,
    version BIGINT NOT NULL,
    section_id BIGINT NOT NULL,
    slug TEXT NOT NULL,
    headline TEXT NOT NULL,
    lead TEXT NOT NULL,
    body_source TEXT NOT NULL,
    body_format TEXT NOT NULL,
    status TEXT NOT NULL,
    actor TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (news_id, version)
);

-- Append-only log of story changes: every node reads it to drop cached pages.
CREATE TABLE story_changes (
    id BIGSERIAL PRIMARY KEY,
    news_id BIGINT NOT NULL,
    edition_id BIGINT NOT NULL,
    changed_at BIGINT NOT NULL
);

CREATE TABLE counters (
    name TEXT PRIMARY KEY,
    value BIGINT NOT NULL
);
INSERT INTO counters (name, value) VALUES ('news_id', 0);
