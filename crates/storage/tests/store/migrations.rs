//! The two migration folders describe one schema. `migrations/postgres` is
//! `migrations/sqlite` after a few mechanical rewrites ([`REWRITES`]), except
//! for the engine-specific fragments listed, with their reason, in
//! [`ENGINE_SPECIFIC`]. This test fails when the folders drift apart: a
//! migration added to one folder only, or a column changed on one side.
//!
//! Existing migration files are never edited (sqlx stores a checksum of each
//! applied file and refuses a database whose files changed), so a drift that
//! already shipped is listed in [`ENGINE_SPECIFIC`] instead of being fixed.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The rewrites that turn SQLite DDL into PostgreSQL DDL, applied in order to
/// whole words (`INTEGER` inside an identifier stays).
const REWRITES: &[(&str, &str)] = &[
    // SQLite's rowid alias that never reuses ids; PostgreSQL's 64-bit sequence.
    ("INTEGER PRIMARY KEY AUTOINCREMENT", "BIGSERIAL PRIMARY KEY"),
    // SQLite integers are 64-bit; PostgreSQL's INTEGER is 32-bit.
    ("INTEGER", "BIGINT"),
    ("BLOB", "BYTEA"),
];

/// A fragment that legitimately differs between the engines' files: the exact
/// SQLite text and the exact PostgreSQL text. Each must occur exactly once in
/// its file; the rest of the file must still match after the rewrites.
struct EngineSpecific {
    file: &'static str,
    sqlite: &'static str,
    postgres: &'static str,
}

const ENGINE_SPECIFIC: &[EngineSpecific] = &[
    // The PostgreSQL file explains how pg_restore interacts with the identity
    // (only PostgreSQL sites are restored with pg_restore).
    EngineSpecific {
        file: "20261203000015_site_identity.sql",
        sqlite: "-- another point of it, and starts over.\n",
        postgres: "-- another point of it, and starts over. (A pg_restore brings back the dump's\n\
                   -- incarnation; the store adds the change log table's OID, which the restore\n\
                   -- renews, see crates/storage/src/backup.rs.)\n",
    },
    // Shipped as INTEGER on PostgreSQL instead of BIGINT (a drift from the
    // rewrite rule, harmless: the column only ever holds 1). Kept because the
    // file is already applied to databases.
    EngineSpecific {
        file: "20261203000015_site_identity.sql",
        sqlite: "    singleton INTEGER PRIMARY KEY CHECK (singleton = 1),\n",
        postgres: "    singleton INTEGER PRIMARY KEY CHECK (singleton = 1),\n",
    },
    // Random ids and the current time: SQLite has randomblob() and strftime(),
    // PostgreSQL gen_random_uuid() and EXTRACT(EPOCH ...).
    EngineSpecific {
        file: "20261203000015_site_identity.sql",
        sqlite: "VALUES (1, lower(hex(randomblob(16))), lower(hex(randomblob(16))), \
                 CAST(strftime('%s', 'now') AS INTEGER));\n",
        postgres: "VALUES (1, replace(gen_random_uuid()::text, '-', ''), replace(gen_random_uuid()::text, '-', ''),\n        \
                   CAST(EXTRACT(EPOCH FROM now()) AS BIGINT));\n",
    },
    // The links of a section's stories kept in its index: PostgreSQL as
    // included columns, SQLite (no INCLUDE) as the key's last columns.
    EngineSpecific {
        file: "20261206000038_section_links.sql",
        sqlite: "CREATE INDEX stories_section_published ON stories (section_id, status, published_at DESC, news_id DESC, slug, headline);\n",
        postgres: "CREATE INDEX stories_section_published ON stories (section_id, status, published_at DESC, news_id DESC) INCLUDE (slug, headline);\n",
    },
    // LZ4 for story text is a PostgreSQL column setting (guarded: only where
    // the server was built with lz4); SQLite has no such setting.
    EngineSpecific {
        file: "20261206000037_story_text_lz4.sql",
        sqlite: "-- SQLite keeps text as it is: nothing to do.\n",
        postgres: "DO $$\n\
                   BEGIN\n    \
                   IF EXISTS (SELECT 1 FROM pg_settings WHERE name = 'default_toast_compression' AND 'lz4' = ANY (enumvals)) THEN\n        \
                   EXECUTE 'ALTER TABLE stories ALTER COLUMN body_html SET COMPRESSION lz4, '\n            \
                   'ALTER COLUMN body_source SET COMPRESSION lz4';\n        \
                   EXECUTE 'ALTER TABLE story_revisions ALTER COLUMN body_source SET COMPRESSION lz4';\n    \
                   END IF;\n\
                   END\n\
                   $$;\n",
    },
    // A photo's list of copies and crops kept in its row (migration 39): the
    // list built with each engine's JSON aggregate, and kept by each engine's
    // kind of trigger (SQLite's bodies are SQL; PostgreSQL's call a function),
    // LZ4 on PostgreSQL as for story text.
    EngineSpecific {
        file: "20261207000039_photo_rendition_lists.sql",
        sqlite: "    SELECT json_group_array(json_array(r.kind, r.ratio, r.sha256, r.mime, r.width, r.height, r.size)) FROM (\n\
                 ",
        postgres: "    SELECT COALESCE(json_agg(json_build_array(r.kind, r.ratio, r.sha256, r.mime, r.width, r.height, r.size)), '[]')::text FROM (\n\
                   ",
    },
    EngineSpecific {
        file: "20261207000039_photo_rendition_lists.sql",
        sqlite: "-- The list made again for the photo of each row written.\n\
                 CREATE TRIGGER photo_renditions_listed_on_insert AFTER INSERT ON photo_renditions BEGIN\n    \
                     UPDATE photos SET renditions = (SELECT l.list FROM photo_rendition_lists l WHERE l.photo_id = photos.id)\n    \
                     WHERE id = NEW.photo_id;\n\
                 END;\n\
                 CREATE TRIGGER photo_renditions_listed_on_update AFTER UPDATE ON photo_renditions BEGIN\n    \
                     UPDATE photos SET renditions = (SELECT l.list FROM photo_rendition_lists l WHERE l.photo_id = photos.id)\n    \
                     WHERE id IN (OLD.photo_id, NEW.photo_id);\n\
                 END;\n\
                 CREATE TRIGGER photo_renditions_listed_on_delete AFTER DELETE ON photo_renditions BEGIN\n    \
                     UPDATE photos SET renditions = (SELECT l.list FROM photo_rendition_lists l WHERE l.photo_id = photos.id)\n    \
                     WHERE id = OLD.photo_id;\n\
                 END;\n\
                 CREATE TRIGGER photo_crop_renditions_listed_on_insert AFTER INSERT ON photo_crop_renditions BEGIN\n    \
                     UPDATE photos SET renditions = (SELECT l.list FROM photo_rendition_lists l WHERE l.photo_id = photos.id)\n    \
                     WHERE id = NEW.photo_id;\n\
                 END;\n\
                 CREATE TRIGGER photo_crop_renditions_listed_on_update AFTER UPDATE ON photo_crop_renditions BEGIN\n    \
                     UPDATE photos SET renditions = (SELECT l.list FROM photo_rendition_lists l WHERE l.photo_id = photos.id)\n    \
                     WHERE id IN (OLD.photo_id, NEW.photo_id);\n\
                 END;\n\
                 CREATE TRIGGER photo_crop_renditions_listed_on_delete AFTER DELETE ON photo_crop_renditions BEGIN\n    \
                     UPDATE photos SET renditions = (SELECT l.list FROM photo_rendition_lists l WHERE l.photo_id = photos.id)\n    \
                     WHERE id = OLD.photo_id;\n\
                 END;\n\
                 ",
        postgres: "-- The list made again for the photo of each row written.\n\
                   CREATE FUNCTION photo_renditions_relist() RETURNS trigger LANGUAGE plpgsql AS $$\n\
                   BEGIN\n    \
                       IF TG_OP <> 'INSERT' THEN\n        \
                           UPDATE photos SET renditions = (SELECT l.list FROM photo_rendition_lists l WHERE l.photo_id = photos.id)\n        \
                           WHERE id = OLD.photo_id;\n    \
                       END IF;\n    \
                       IF TG_OP = 'INSERT' OR (TG_OP = 'UPDATE' AND NEW.photo_id <> OLD.photo_id) THEN\n        \
                           UPDATE photos SET renditions = (SELECT l.list FROM photo_rendition_lists l WHERE l.photo_id = photos.id)\n        \
                           WHERE id = NEW.photo_id;\n    \
                       END IF;\n    \
                       RETURN NULL;\n\
                   END\n\
                   $$;\n\
                   CREATE TRIGGER photo_renditions_listed AFTER INSERT OR UPDATE OR DELETE ON photo_renditions\n    \
                       FOR EACH ROW EXECUTE FUNCTION photo_renditions_relist();\n\
                   CREATE TRIGGER photo_crop_renditions_listed AFTER INSERT OR UPDATE OR DELETE ON photo_crop_renditions\n    \
                       FOR EACH ROW EXECUTE FUNCTION photo_renditions_relist();\n\
                   ",
    },
    EngineSpecific {
        file: "20261207000039_photo_rendition_lists.sql",
        sqlite: "-- SQLite keeps text as it is: no compression to set.\n",
        postgres: "-- Kept compressed with LZ4 where the server has it (the list is ~2.8 KB).\n\
                   DO $$\n\
                   BEGIN\n    \
                       IF EXISTS (SELECT 1 FROM pg_settings WHERE name = 'default_toast_compression' AND 'lz4' = ANY (enumvals)) THEN\n        \
                           EXECUTE 'ALTER TABLE photos ALTER COLUMN renditions SET COMPRESSION lz4';\n    \
                       END IF;\n\
                   END\n\
                   $$;\n\
                   ",
    },
    // Each story's tags and authors kept in its row (migration 40): the list
    // built with each engine's JSON aggregate, in order (PostgreSQL's
    // aggregate orders its rows, SQLite's takes its subquery's order).
    EngineSpecific {
        file: "20261208000040_story_bylines.sql",
        sqlite: "    SELECT json_group_array(json_array(b.kind, b.id, b.slug, b.name)) FROM (\n",
        postgres: "    SELECT COALESCE(json_agg(json_build_array(b.kind, b.id, b.slug, b.name) ORDER BY b.kind, b.position), '[]')::text FROM (\n",
    },
    EngineSpecific {
        file: "20261208000040_story_bylines.sql",
        sqlite: "WHERE sa.news_id = s.news_id\n        ORDER BY 1, 2\n",
        postgres: "WHERE sa.news_id = s.news_id\n",
    },
];

fn folder(engine: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations").join(engine)
}

fn file_names(dir: &Path) -> BTreeSet<String> {
    std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .map(|entry| entry.expect("directory entry").file_name().to_string_lossy().into_owned())
        .collect()
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// `text` with every whole-word occurrence of `from` replaced by `to`.
fn replace_words(text: &str, from: &str, to: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut rest = 0;
    for (at, _) in text.match_indices(from) {
        let end = at + from.len();
        let starts_word = at == 0 || !is_word_byte(bytes[at - 1]);
        let ends_word = end == bytes.len() || !is_word_byte(bytes[end]);
        if starts_word && ends_word {
            out.push_str(&text[rest..at]);
            out.push_str(to);
            rest = end;
        }
    }
    out.push_str(&text[rest..]);
    out
}

/// SQLite DDL as PostgreSQL should have it.
fn rewrite(sqlite: &str) -> String {
    REWRITES.iter().fold(sqlite.to_owned(), |text, (from, to)| replace_words(&text, from, to))
}

/// `text` with `fragment` (which must occur exactly once) cut out and a marker in its place.
fn cut(text: &str, fragment: &str, marker: &str, what: &str) -> String {
    let found = text.matches(fragment).count();
    assert_eq!(
        found, 1,
        "{what}: the engine-specific fragment must occur exactly once, found {found} times:\n{fragment}"
    );
    text.replacen(fragment, marker, 1)
}

/// The lines that differ, numbered, for a failure message.
fn line_diff(expected: &str, found: &str) -> String {
    let (expected, found): (Vec<_>, Vec<_>) = (expected.lines().collect(), found.lines().collect());
    let mut out = String::new();
    for n in 0..expected.len().max(found.len()) {
        let (want, got) = (expected.get(n), found.get(n));
        if want != got {
            out.push_str(&format!(
                "line {}:\n  expected (SQLite rewritten): {}\n  PostgreSQL file:             {}\n",
                n + 1,
                want.unwrap_or(&"<no line>"),
                got.unwrap_or(&"<no line>"),
            ));
        }
    }
    out
}

/// How the PostgreSQL text of migration `name` differs from its SQLite text
/// rewritten, engine-specific fragments aside; `None` when it does not.
fn drift(name: &str, sqlite: &str, postgres: &str) -> Option<String> {
    let (mut sqlite, mut postgres) = (sqlite.to_owned(), postgres.to_owned());
    for (n, fragment) in ENGINE_SPECIFIC.iter().enumerate().filter(|(_, f)| f.file == name) {
        let marker = format!("<engine-specific fragment {n}>\n");
        sqlite = cut(&sqlite, fragment.sqlite, &marker, &format!("migrations/sqlite/{name}"));
        postgres = cut(&postgres, fragment.postgres, &marker, &format!("migrations/postgres/{name}"));
    }
    let expected = rewrite(&sqlite);
    (expected != postgres).then(|| line_diff(&expected, &postgres))
}

#[test]
fn both_engines_have_the_same_migration_files() {
    let sqlite = file_names(&folder("sqlite"));
    let postgres = file_names(&folder("postgres"));
    assert!(!sqlite.is_empty(), "no SQLite migrations found");
    let only_sqlite: Vec<_> = sqlite.difference(&postgres).collect();
    let only_postgres: Vec<_> = postgres.difference(&sqlite).collect();
    assert!(
        only_sqlite.is_empty() && only_postgres.is_empty(),
        "a migration needs its pair: only in migrations/sqlite: {only_sqlite:?}; only in migrations/postgres: {only_postgres:?}"
    );
    // sqlx orders by the number before `_`; two files with one number would
    // make the order, and so the schema, depend on the engine's folder listing.
    let mut versions = BTreeSet::new();
    for name in &sqlite {
        let version = name.split_once('_').map(|(v, _)| v).unwrap_or_default();
        assert!(
            name.ends_with(".sql") && !version.is_empty() && version.bytes().all(|b| b.is_ascii_digit()),
            "{name}: a migration is named <number>_<description>.sql"
        );
        assert!(versions.insert(version.to_owned()), "{name}: version {version} is used twice");
    }
}

#[test]
fn postgres_migrations_are_the_sqlite_ones_rewritten() {
    let mut drifted = Vec::new();
    for name in file_names(&folder("sqlite")) {
        let postgres_path = folder("postgres").join(&name);
        if !postgres_path.exists() {
            continue; // reported by both_engines_have_the_same_migration_files
        }
        let sqlite = read(&folder("sqlite").join(&name));
        if let Some(diff) = drift(&name, &sqlite, &read(&postgres_path)) {
            drifted.push(format!("{name}:\n{diff}"));
        }
    }
    assert!(
        drifted.is_empty(),
        "migrations/postgres must equal migrations/sqlite after the rewrites {REWRITES:?} \
         (engine-specific fragments are listed in ENGINE_SPECIFIC in this file):\n{}",
        drifted.join("\n")
    );
}

#[test]
fn every_engine_specific_fragment_names_an_existing_migration() {
    for fragment in ENGINE_SPECIFIC {
        assert!(
            folder("sqlite").join(fragment.file).exists() && folder("postgres").join(fragment.file).exists(),
            "ENGINE_SPECIFIC names {}, which is not in both folders",
            fragment.file
        );
    }
}

#[test]
fn rewrites_touch_whole_words_only() {
    assert_eq!(
        rewrite("id INTEGER PRIMARY KEY AUTOINCREMENT, n INTEGER, b BLOB, INTEGERS, my_INTEGER, BLOBS"),
        "id BIGSERIAL PRIMARY KEY, n BIGINT, b BYTEA, INTEGERS, my_INTEGER, BLOBS"
    );
}

#[test]
fn a_column_changed_on_one_side_is_reported() {
    let name = "20261127000001_content.sql";
    let sqlite = read(&folder("sqlite").join(name));
    let postgres = read(&folder("postgres").join(name));
    assert_eq!(drift(name, &sqlite, &postgres), None);
    let drifted = postgres.replacen("version BIGINT NOT NULL DEFAULT 1", "version INTEGER NOT NULL DEFAULT 1", 1);
    assert_ne!(drifted, postgres, "the fixture line is in the content migration");
    let diff = drift(name, &sqlite, &drifted).expect("a drift");
    assert!(diff.contains("line 55:") && diff.contains("version INTEGER NOT NULL"), "{diff}");
}

#[test]
#[should_panic(expected = "must occur exactly once")]
fn an_engine_specific_fragment_that_no_longer_matches_fails() {
    let name = "20261203000015_site_identity.sql";
    let sqlite = read(&folder("sqlite").join(name));
    let postgres = read(&folder("postgres").join(name)).replace("gen_random_uuid()", "uuid_generate_v4()");
    drift(name, &sqlite, &postgres);
}
