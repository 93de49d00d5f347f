-- Descriptive metadata of photos (issue 17), besides the caption and credit:
-- pre-filled at upload from the file's XMP, IPTC-IIM and EXIF (what the
-- uploader typed wins), editable in the media library, and handed to the
-- wire's subscribers with the photo (creator, copyright notice, usage terms).
-- The date created is ISO 8601 text (a year, a date, or a date and time with
-- its offset: files often say no more); keywords are one per line. Location
-- (GPS, city, country) is never stored.
ALTER TABLE photos ADD COLUMN headline TEXT NOT NULL DEFAULT '';
ALTER TABLE photos ADD COLUMN creator TEXT NOT NULL DEFAULT '';
ALTER TABLE photos ADD COLUMN copyright_notice TEXT NOT NULL DEFAULT '';
ALTER TABLE photos ADD COLUMN source TEXT NOT NULL DEFAULT '';
ALTER TABLE photos ADD COLUMN date_created TEXT NOT NULL DEFAULT '';
ALTER TABLE photos ADD COLUMN keywords TEXT NOT NULL DEFAULT '';
ALTER TABLE photos ADD COLUMN usage_terms TEXT NOT NULL DEFAULT '';
