-- The stories showing a photo (to drop their pages when the photo's caption,
-- crops or copies change): without an index each lookup read the whole
-- stories table, 1.6 s at 1,000,000 stories, once per photo of the
-- renditions and crops backfill at a first start.
CREATE INDEX stories_photo ON stories (photo_id);
