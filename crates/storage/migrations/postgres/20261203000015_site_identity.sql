-- Which database this is, for what follows its change log from outside (each
-- node's search index): a random id made with the database, and an incarnation
-- renewed by every restore. Change ids restart lower after a restore, so a
-- follower that only remembered the last id it applied would skip or keep
-- stories; with the identity it sees that it follows another database, or
-- another point of it, and starts over. (A pg_restore brings back the dump's
-- incarnation; the store adds the change log table's OID, which the restore
-- renews, see crates/storage/src/backup.rs.)
CREATE TABLE site_identity (
    singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
    database_id TEXT NOT NULL,
    incarnation TEXT NOT NULL,
    renewed_at BIGINT NOT NULL
);

INSERT INTO site_identity (singleton, database_id, incarnation, renewed_at)
VALUES (1, replace(gen_random_uuid()::text, '-', ''), replace(gen_random_uuid()::text, '-', ''),
        CAST(EXTRACT(EPOCH FROM now()) AS BIGINT));
