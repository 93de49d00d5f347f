-- Focal points and crops of photos (issue 17): where a photo's subject is, in
-- ten-thousandths of its width and height from the top left corner (a photo
-- without a row is centred), the crops an editor set by hand per ratio
-- (pixels of the picture as displayed), and the renditions of each crop
-- ('16x9', '4x3', '1x1'; WebP and JPEG), served like the others by content
-- address from /media/{sha256}.{ext}. A photo without crop renditions gets
-- them from a background job; until then pages show the uncropped ones.
CREATE TABLE photo_focus (
    photo_id BIGINT PRIMARY KEY REFERENCES photos (id) ON DELETE CASCADE,
    focus_x BIGINT NOT NULL CHECK (focus_x BETWEEN 0 AND 10000),
    focus_y BIGINT NOT NULL CHECK (focus_y BETWEEN 0 AND 10000),
    updated_at BIGINT NOT NULL
);

CREATE TABLE photo_crops (
    photo_id BIGINT NOT NULL REFERENCES photos (id) ON DELETE CASCADE,
    ratio TEXT NOT NULL,
    x BIGINT NOT NULL,
    y BIGINT NOT NULL,
    width BIGINT NOT NULL,
    height BIGINT NOT NULL,
    PRIMARY KEY (photo_id, ratio)
);

CREATE TABLE photo_crop_renditions (
    photo_id BIGINT NOT NULL REFERENCES photos (id) ON DELETE CASCADE,
    ratio TEXT NOT NULL,
    width BIGINT NOT NULL,
    height BIGINT NOT NULL,
    mime TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    bytes BYTEA NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (photo_id, ratio, width, mime)
);

CREATE INDEX photo_crop_renditions_sha256 ON photo_crop_renditions (sha256);
