-- Galleries (issue 17): an ordered set of photos from the media library, each
-- with the caption and credit of this use (the photo's own stay as they are),
-- independent of editions. A story may show one as its lead (`gallery_id`,
-- besides or instead of its lead photo) and any number inside its body (a
-- `gallery:ID` line; `story_body_galleries` remembers which, so a change of
-- a gallery re-renders the bodies that show it).
CREATE TABLE galleries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    title TEXT NOT NULL,
    version INTEGER NOT NULL DEFAULT 1,
    created_at INTEGER NOT NULL,
    modified_at INTEGER NOT NULL
);

CREATE TABLE gallery_items (
    gallery_id INTEGER NOT NULL REFERENCES galleries (id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    photo_id INTEGER NOT NULL REFERENCES photos (id),
    caption TEXT NOT NULL DEFAULT '',
    credit TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (gallery_id, position)
);
CREATE INDEX gallery_items_photo ON gallery_items (photo_id);

ALTER TABLE stories ADD COLUMN gallery_id INTEGER REFERENCES galleries (id);
CREATE INDEX stories_gallery ON stories (gallery_id);

CREATE TABLE story_body_galleries (
    news_id INTEGER NOT NULL REFERENCES stories (news_id) ON DELETE CASCADE,
    gallery_id INTEGER NOT NULL REFERENCES galleries (id),
    PRIMARY KEY (news_id, gallery_id)
);
CREATE INDEX story_body_galleries_gallery ON story_body_galleries (gallery_id);
