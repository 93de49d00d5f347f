-- Photos: resized renditions (WebP and JPEG) made once at upload, served by
-- content address from /media/{sha256}.{ext}; the media library lists photos
-- newest first.
CREATE TABLE photo_renditions (
    photo_id BIGINT NOT NULL REFERENCES photos (id) ON DELETE CASCADE,
    width BIGINT NOT NULL,
    height BIGINT NOT NULL,
    mime TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    bytes BYTEA NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (photo_id, width, mime)
);

CREATE INDEX photo_renditions_sha256 ON photo_renditions (sha256);

CREATE INDEX photos_created ON photos (created_at, id);
