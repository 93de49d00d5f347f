-- The header's "Updated in" reads MAX(updated_at) per edition: keep it an index lookup.
CREATE INDEX stories_edition_updated ON stories (edition_id, status, updated_at);
