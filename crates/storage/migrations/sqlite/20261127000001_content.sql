-- Content model: editions, the section tree, stories and what hangs on them.
-- Times are unix seconds, UTC.

CREATE TABLE editions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    lang TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    direction TEXT NOT NULL DEFAULT 'ltr' CHECK (direction IN ('ltr', 'rtl')),
    time_zone TEXT NOT NULL,
    is_default INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX editions_one_default ON editions (is_default) WHERE is_default = 1;

CREATE TABLE sections (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    edition_id INTEGER NOT NULL REFERENCES editions (id),
    parent_id INTEGER REFERENCES sections (id),
    slug TEXT NOT NULL,
    name TEXT NOT NULL,
    -- slash-joined slugs from the top: unique per edition, so slugs are unique among siblings
    path TEXT NOT NULL,
    position INTEGER NOT NULL DEFAULT 0,
    UNIQUE (edition_id, path)
);

CREATE TABLE photos (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    sha256 TEXT NOT NULL UNIQUE,
    mime TEXT NOT NULL,
    width INTEGER NOT NULL,
    height INTEGER NOT NULL,
    bytes BLOB NOT NULL,
    caption TEXT NOT NULL DEFAULT '',
    credit TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL
);

CREATE TABLE stories (
    news_id INTEGER PRIMARY KEY,
    edition_id INTEGER NOT NULL REFERENCES editions (id),
    section_id INTEGER NOT NULL REFERENCES sections (id),
    slug TEXT NOT NULL,
    headline TEXT NOT NULL,
    lead TEXT NOT NULL,
    body_source TEXT NOT NULL,
    body_format TEXT NOT NULL CHECK (body_format IN ('text', 'markdown', 'html')),
    body_html TEXT NOT NULL,
    photo_id INTEGER REFERENCES photos (id),
    status TEXT NOT NULL CHECK (status IN ('draft', 'submitted', 'scheduled', 'published', 'unpublished', 'killed')),
    published_at INTEGER,
    updated_at INTEGER,
    created_at INTEGER NOT NULL,
    modified_at INTEGER NOT NULL,
    version INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX stories_edition_published ON stories (edition_id, status, published_at DESC, news_id DESC);
CREATE INDEX stories_section_published ON stories (section_id, status, published_at DESC, news_id DESC);

CREATE TABLE tags (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    edition_id INTEGER NOT NULL REFERENCES editions (id),
    slug TEXT NOT NULL,
    name TEXT NOT NULL,
    UNIQUE (edition_id, slug)
);

CREATE TABLE story_tags (
    news_id INTEGER NOT NULL REFERENCES stories (news_id) ON DELETE CASCADE,
    tag_id INTEGER NOT NULL REFERENCES tags (id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    PRIMARY KEY (news_id, tag_id)
);
CREATE INDEX story_tags_tag ON story_tags (tag_id, news_id);

CREATE TABLE authors (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    slug TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL
);

CREATE TABLE story_authors (
    news_id INTEGER NOT NULL REFERENCES stories (news_id) ON DELETE CASCADE,
    author_id INTEGER NOT NULL REFERENCES authors (id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    PRIMARY KEY (news_id, author_id)
);
CREATE INDEX story_authors_author ON story_authors (author_id, news_id);

-- Every save of a story, so it can be shown, compared and restored.
CREATE TABLE story_revisions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    news_id INTEGER NOT NULL REFERENCES stories (news_id) ON DELETE CASCADE,
    version INTEGER NOT NULL,
    section_id INTEGER NOT NULL,
    slug TEXT NOT NULL,
    headline TEXT NOT NULL,
    lead TEXT NOT NULL,
    body_source TEXT NOT NULL,
    body_format TEXT NOT NULL,
    status TEXT NOT NULL,
    actor TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    UNIQUE (news_id, version)
);

-- Append-only log of story changes: every node reads it to drop cached pages.
CREATE TABLE story_changes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    news_id INTEGER NOT NULL,
    edition_id INTEGER NOT NULL,
    changed_at INTEGER NOT NULL
);

CREATE TABLE counters (
    name TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
INSERT INTO counters (name, value) VALUES ('news_id', 0);
