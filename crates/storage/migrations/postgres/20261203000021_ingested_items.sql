-- Other agencies' wires taken in (NewsML-G2, NITF, ninjs): one row per item
-- of a source, the latest version received. `source` names where it came
-- from (`cli` for `newsdesk ingest`), `guid` is the item's identifier there,
-- the same for all its versions. A newer version replaces the row and keeps
-- the version it replaced in `previous_version`.
-- Times are Unix seconds (UTC); subjects, keywords, renditions and
-- associations are JSON arrays as the domain's IncomingItem writes them.
CREATE TABLE ingested_items (
    source TEXT NOT NULL,
    guid TEXT NOT NULL,
    version BIGINT NOT NULL CHECK (version > 0),
    previous_version BIGINT,
    format TEXT NOT NULL,
    kind TEXT NOT NULL,
    urgency BIGINT CHECK (urgency BETWEEN 1 AND 9),
    headline TEXT NOT NULL,
    slugline TEXT NOT NULL,
    byline TEXT NOT NULL,
    dateline TEXT NOT NULL,
    located TEXT NOT NULL,
    language TEXT NOT NULL,
    description TEXT NOT NULL,
    body_html TEXT NOT NULL,
    subjects TEXT NOT NULL,
    keywords TEXT NOT NULL,
    renditions TEXT NOT NULL,
    associations TEXT NOT NULL,
    first_created BIGINT,
    version_created BIGINT,
    embargoed BIGINT,
    pub_status TEXT NOT NULL CHECK (pub_status IN ('usable', 'withheld', 'canceled')),
    received_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (source, guid)
);
-- The newest first, per source.
CREATE INDEX ingested_items_updated ON ingested_items (source, updated_at);
