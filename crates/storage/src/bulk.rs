//! Creating many new stories at once (the demo fill, large data sets for
//! benchmarks): what [`Store::save_story`] writes for each new story, in a few
//! multi-row statements per batch instead of some twenty statements and a
//! commit per story.

use std::borrow::Cow;
use std::collections::HashMap;

use newsdesk_domain::NewsId;
use newsdesk_domain::body::Context;
use newsdesk_domain::slug::slugify;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Executor, Row};

use crate::body::{Named, context_of, render_with};
use crate::content::{StoryInput, now};
use crate::sql::AnyQuery;
use crate::{Result, SectionRef, Store, StoreError};

/// Bound values per statement: below SQLite's limit (32,766) and PostgreSQL's (65,535).
const MAX_PARAMS: usize = 30_000;

/// Keys looked up per statement by [`select_in`].
const KEYS_PER_SELECT: usize = 500;

/// A value bound to a multi-row statement.
#[derive(Debug, Clone, Copy)]
pub(crate) enum V<'a> {
    Int(i64),
    OptInt(Option<i64>),
    Text(&'a str),
}

/// New stories checked and their bodies rendered ([`Store::prepare_stories`]),
/// ready for [`Store::create_prepared`].
#[derive(Debug)]
pub struct PreparedStories {
    inputs: Vec<StoryInput>,
    bodies: Vec<PreparedBody>,
    /// The first of the News IDs set aside for them ([`Store::number_prepared`]);
    /// `None`: numbered in their own transaction.
    first: Option<NewsId>,
}

impl PreparedStories {
    /// The stories, in order.
    pub fn inputs(&self) -> &[StoryInput] {
        &self.inputs
    }
}

/// What a new story's rows need that its transaction does not change, worked
/// out ahead of it ([`Store::prepare_stories`]): a bulk load's transactions are
/// its critical path (SQLite has one writer), the work before them is not.
#[derive(Debug)]
struct PreparedBody {
    /// What the body names, the context it was rendered in, and the HTML.
    named: Named,
    ctx: Context,
    html: String,
    /// The story's slug (given, or from the headline).
    slug: String,
    /// Agency genres and subjects as stored (space-separated).
    genres: String,
    subjects: String,
    /// Distinct tags and authors by slug (the first spelling wins, as one by
    /// one), each with its position among the story's names.
    tags: Vec<Link>,
    authors: Vec<Link>,
}

/// The name `link` stands for among `names`, trimmed.
fn name_at<'a>(names: &'a [String], link: &Link) -> &'a str {
    names.get(link.position as usize).map_or("", |n| n.trim())
}

/// Distinct `names` by slug, the first of each, with their positions.
fn links(names: &[String]) -> Vec<Link> {
    let mut out: Vec<Link> = Vec::with_capacity(names.len());
    for (position, name) in names.iter().enumerate() {
        let slug = slugify(name);
        if !out.iter().any(|l| l.slug == slug) {
            out.push(Link { slug, position: position as i64 });
        }
    }
    out
}

/// A story's tag or author: its slug and its position among the story's
/// names (whose spelling, trimmed, a new tag or author gets).
#[derive(Debug)]
struct Link {
    slug: String,
    position: i64,
}

/// How a bulk load's rows have their foreign keys checked
/// ([`Store::bulk_key_checks`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyChecks {
    /// By the database, row by row, as for any insert: on SQLite always (a
    /// key is a lookup in the same process), and on PostgreSQL when the
    /// store's role may not set `session_replication_role`, or a table the
    /// load writes has a trigger or rule of its own or a key of several
    /// columns.
    PerRow,
    /// On PostgreSQL, by the store, once a batch: the rows are written with
    /// the database's key triggers off (`session_replication_role =
    /// replica`, as `pg_restore --disable-triggers` does), then one statement
    /// a foreign key finds every value the batch's rows name in its table and
    /// locks those rows (`FOR KEY SHARE`, the lock the database's own check
    /// takes) before the batch commits. A value not found fails the batch:
    /// nothing is stored. Row by row, the checks were 45 % of the server's
    /// time in a fill.
    ///
    /// The batches are written on connections of their own, kept with the
    /// setting on (at most four, closed after ten idle
    /// seconds) and used for nothing else: the store's other connections
    /// always check keys. (Set and reset in each batch's transaction instead,
    /// the setting made the server plan every statement again — it drops a
    /// connection's cached plans at each change: a tenth of a fill's time.)
    PerBatch,
}

/// What [`KeyChecks`] a store uses; for [`KeyChecks::PerBatch`], the
/// connections the batches are written on and the statements checking each
/// key.
#[derive(Debug, Clone)]
pub(crate) enum Checks {
    PerRow,
    PerBatch { pool: sqlx::AnyPool, keys: std::sync::Arc<[KeyCheck]> },
}

/// Most connections writing batches with [`KeyChecks::PerBatch`] at once (a
/// fill stores two batches side by side); more callers wait for one.
const BULK_CONNECTIONS: u32 = 4;

/// One foreign key of a table a bulk load writes, and the statement that
/// checks a batch's rows against it: `$1` and `$2` are the batch's first and
/// last News IDs; it returns up to five values not found (as text).
#[derive(Debug)]
pub(crate) struct KeyCheck {
    /// `table.column -> table.column`, for messages.
    name: String,
    sql: String,
}

/// The tables a bulk load writes, each with the condition finding the rows
/// a batch wrote or named there (`$1` and `$2`: its first and last News
/// IDs; each by an index). A table the batch writes and its key checks
/// leave out would have its foreign keys unchecked.
const BATCH_TABLES: &[(&str, &str)] = &[
    ("stories", "news_id BETWEEN $1 AND $2"),
    ("story_tags", "news_id BETWEEN $1 AND $2"),
    ("story_authors", "news_id BETWEEN $1 AND $2"),
    ("story_body_galleries", "news_id BETWEEN $1 AND $2"),
    ("story_revisions", "news_id BETWEEN $1 AND $2"),
    ("story_changes", "news_id BETWEEN $1 AND $2"),
    // The tags and authors the batch created are among those its stories name.
    ("tags", "id IN (SELECT tag_id FROM story_tags WHERE news_id BETWEEN $1 AND $2)"),
    ("authors", "id IN (SELECT author_id FROM story_authors WHERE news_id BETWEEN $1 AND $2)"),
    // When the batch takes its own News IDs.
    ("counters", "name = 'news_id' AND $1 <= $2"),
];

impl Store {
    /// How this store's bulk loads ([`Store::create_prepared`]) check their
    /// rows' foreign keys; found out once, at the first load.
    pub async fn bulk_key_checks(&self) -> Result<KeyChecks> {
        Ok(match self.key_checks().await? {
            Checks::PerRow => KeyChecks::PerRow,
            Checks::PerBatch { .. } => KeyChecks::PerBatch,
        })
    }

    async fn key_checks(&self) -> Result<&Checks> {
        self.key_checks.get_or_try_init(|| probe_key_checks(self)).await
    }

    /// Creates `inputs` as new stories, in order, in one transaction (all or
    /// nothing), with the next News IDs in sequence, and returns their News
    /// IDs. Writes for each exactly what [`Store::save_story`] writes for a new
    /// story: the story with its agency metadata, its tags and authors
    /// (created as needed), the galleries its body shows, its first revision
    /// and its change-log entry (one notification for the batch). Every input
    /// must be new (`news_id: None`).
    pub async fn create_stories(&self, inputs: &[StoryInput]) -> Result<Vec<NewsId>> {
        let prepared = self.prepare_stories(inputs.to_vec()).await?;
        self.create_prepared(&prepared).await
    }

    /// The first half of [`Store::create_stories`], outside any transaction:
    /// checks the stories and renders their bodies (on a blocking thread), so
    /// that a bulk load renders the next batch while the database stores this
    /// one. The transaction of [`Store::create_prepared`] reads again what a
    /// body names (photos, embeds, galleries) and renders it again if that
    /// changed meanwhile.
    pub async fn prepare_stories(&self, inputs: Vec<StoryInput>) -> Result<PreparedStories> {
        for input in &inputs {
            if input.headline.trim().is_empty() {
                return Err(StoreError::Invalid("headline must not be empty".into()));
            }
            if let Some(id) = input.news_id {
                return Err(StoreError::Invalid(format!("create_stories makes new stories; got News ID {id}")));
            }
            if let Some(a) = &input.agency
                && !newsdesk_domain::agency::urgency_is_valid(a.urgency)
            {
                return Err(StoreError::Invalid(format!("urgency must be 1 to 8, got {}", a.urgency)));
            }
        }
        let named: Vec<Named> = inputs.iter().map(|i| Named::of(i.body_format, &i.body_source)).collect();
        let mut contexts = Vec::with_capacity(inputs.len());
        let mut conn = None;
        for n in &named {
            contexts.push(if n.is_empty() {
                Context::default()
            } else {
                let conn = match &mut conn {
                    Some(c) => c,
                    None => conn.insert(self.pool().acquire().await?),
                };
                context_of(conn, n).await?
            });
        }
        drop(conn);
        let rendered = tokio::task::spawn_blocking(move || {
            let mut bodies = Vec::with_capacity(inputs.len());
            for ((input, named), ctx) in inputs.iter().zip(named).zip(contexts) {
                let html = render_with(input.body_format, &input.body_source, &ctx)?;
                bodies.push(PreparedBody {
                    named,
                    ctx,
                    html,
                    slug: input.slug.clone().unwrap_or_else(|| slugify(&input.headline)),
                    genres: input.agency.as_ref().map(|a| a.genres.join(" ")).unwrap_or_default(),
                    subjects: input.agency.as_ref().map(|a| a.subjects.join(" ")).unwrap_or_default(),
                    tags: links(&input.tags),
                    authors: links(&input.authors),
                });
            }
            Ok(PreparedStories { inputs, bodies, first: None })
        })
        .await;
        match rendered {
            Ok(prepared) => prepared,
            // A panic while rendering goes on as it would have in the caller's task (a save renders in place).
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(e) => Err(StoreError::Invalid(format!("rendering the stories' bodies was cancelled: {e}"))),
        }
    }

    /// Sets aside the next News IDs for `prepared`, in a transaction of its
    /// own, so that batches numbered one after the other can then be stored
    /// by [`Store::create_prepared`] side by side (on PostgreSQL, two writing
    /// transactions use two CPUs; numbered in the storing transaction, each
    /// would wait for the one before it to commit). The IDs are in order
    /// across the batches numbered; a batch numbered and never stored leaves
    /// a gap in the News IDs. Numbering twice is an error.
    pub async fn number_prepared(&self, prepared: &mut PreparedStories) -> Result<()> {
        if prepared.first.is_some() {
            return Err(StoreError::Invalid("these stories are numbered already".into()));
        }
        if prepared.inputs.is_empty() {
            return Ok(());
        }
        let mut tx = self.begin_write().await?;
        let first = next_news_ids(&mut tx, prepared.inputs.len()).await?;
        tx.commit().await?;
        prepared.first = Some(first);
        Ok(())
    }

    /// The second half of [`Store::create_stories`]: stores `prepared` in one
    /// transaction, with the News IDs set aside by [`Store::number_prepared`]
    /// if it was numbered, else with the next ones. Transactions storing
    /// batches side by side do not wait for each other, except where both
    /// create the same new tag or author (the second waits for the first to
    /// commit: tags and authors are created in one order, so neither waits
    /// forever).
    pub async fn create_prepared(&self, prepared: &PreparedStories) -> Result<Vec<NewsId>> {
        let inputs = prepared.inputs.as_slice();
        if inputs.is_empty() {
            return Ok(Vec::new());
        }
        // Sections named by path are found or created first (in their own
        // transactions, as the back office does), each once.
        let mut named: HashMap<(i64, &[String]), i64> = HashMap::new();
        for input in inputs {
            if let SectionRef::Names(names) = &input.section
                && !named.contains_key(&(input.edition_id, names.as_slice()))
            {
                let id = self.ensure_section_path(input.edition_id, names).await?.id;
                named.insert((input.edition_id, names.as_slice()), id);
            }
        }
        let checks = self.key_checks().await?;
        let mut tx = match checks {
            Checks::PerRow => self.begin_write().await?,
            Checks::PerBatch { pool, .. } => pool.begin().await?,
        };
        let result = create_stories_in(&mut tx, inputs, &prepared.bodies, prepared.first, &named, checks).await;
        match result {
            Ok(_) => tx.commit().await?,
            Err(_) => tx.rollback().await?,
        }
        result
    }
}

/// A new story's values as the INSERTs need them.
struct NewRow<'a> {
    news_id: NewsId,
    input: &'a StoryInput,
    prepared: &'a PreparedBody,
    section_id: i64,
    body_html: Cow<'a, str>,
}

/// The story INSERT's row (see [`insert`] for `?` and `#`).
const STORY_ROW: &str = "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, #, #, 1, ?, ?";
/// The agency columns' part of [`STORY_ROW`].
const AGENCY_ROW: &str = ", ?, ?, ?, ?, ?, ?, ?";

async fn create_stories_in<'a>(
    conn: &mut AnyConnection,
    inputs: &'a [StoryInput],
    bodies: &'a [PreparedBody],
    first: Option<NewsId>,
    named: &HashMap<(i64, &[String]), i64>,
    checks: &Checks,
) -> Result<Vec<NewsId>> {
    // Sections by id, each checked once.
    let mut by_id: HashMap<(i64, i64), i64> = HashMap::new();
    let mut section_ids = Vec::with_capacity(inputs.len());
    for input in inputs {
        let id = match &input.section {
            SectionRef::Id(id) => match by_id.get(&(input.edition_id, *id)) {
                Some(id) => *id,
                None => {
                    let ok = sqlx::query("SELECT 1 FROM sections WHERE id = $1 AND edition_id = $2")
                        .bind(*id)
                        .bind(input.edition_id)
                        .fetch_optional(&mut *conn)
                        .await?;
                    if ok.is_none() {
                        return Err(StoreError::Invalid(format!(
                            "section {id} is not in edition {}",
                            input.edition_id
                        )));
                    }
                    by_id.insert((input.edition_id, *id), *id);
                    *id
                }
            },
            SectionRef::Names(names) => named
                .get(&(input.edition_id, names.as_slice()))
                .copied()
                .ok_or_else(|| StoreError::Invalid(format!("section {} was not created", names.join(" > "))))?,
        };
        section_ids.push(id);
    }

    let first = match first {
        Some(first) => first,
        None => next_news_ids(conn, inputs.len()).await?,
    };

    let mut rows = Vec::with_capacity(inputs.len());
    for (((i, input), section_id), body) in inputs.iter().enumerate().zip(section_ids).zip(bodies) {
        // What the body names, read again inside the transaction: rendered
        // again only if it changed since it was prepared.
        let body_html = if body.named.is_empty() {
            Cow::Borrowed(body.html.as_str())
        } else {
            let ctx = context_of(conn, &body.named).await?;
            if ctx == body.ctx {
                Cow::Borrowed(body.html.as_str())
            } else {
                Cow::Owned(render_with(input.body_format, &input.body_source, &ctx)?)
            }
        };
        rows.push(NewRow { news_id: first + i as i64, input, prepared: body, section_id, body_html });
    }
    let t = now();

    // Tags and authors, each distinct one upserted once (the first spelling wins, as one by one).
    let mut tag_order: Vec<(i64, &str, &str)> = Vec::new();
    let mut tags_seen: std::collections::HashSet<(i64, &str)> = std::collections::HashSet::new();
    let mut tag_ids: HashMap<i64, HashMap<String, (i64, String)>> = HashMap::new();
    let mut author_order: Vec<(&str, &str)> = Vec::new();
    let mut authors_seen: std::collections::HashSet<&str> = std::collections::HashSet::new();
    let mut author_ids: HashMap<String, (i64, String)> = HashMap::new();
    let mut story_tags: Vec<(NewsId, i64, &str, i64)> = Vec::new();
    let mut story_authors: Vec<(NewsId, &str, i64)> = Vec::new();
    for r in &rows {
        let edition = r.input.edition_id;
        for link in &r.prepared.tags {
            if tags_seen.insert((edition, &link.slug)) {
                tag_order.push((edition, &link.slug, name_at(&r.input.tags, link)));
            }
            story_tags.push((r.news_id, edition, &link.slug, link.position));
        }
        for link in &r.prepared.authors {
            if authors_seen.insert(&link.slug) {
                author_order.push((&link.slug, name_at(&r.input.authors, link)));
            }
            story_authors.push((r.news_id, &link.slug, link.position));
        }
    }
    // Existing tags and authors are read, not updated: an upsert that updates
    // locks the row, and a batch stored beside this one would wait for this
    // transaction at the tag every synthetic story has. New ones are created
    // in the order of their keys, so two such batches never wait for each
    // other both ways.
    tag_order.sort_unstable_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
    author_order.sort_unstable_by(|a, b| a.0.cmp(b.0));
    let values: Vec<Vec<V<'_>>> =
        tag_order.iter().map(|(e, slug, name)| vec![V::Int(*e), V::Text(slug), V::Text(name)]).collect();
    insert(
        conn,
        "INSERT INTO tags (edition_id, slug, name) VALUES ",
        "(?, ?, ?)",
        t,
        &values,
        " ON CONFLICT (edition_id, slug) DO NOTHING",
    )
    .await?;
    let mut editions: Vec<i64> = tag_order.iter().map(|(e, _, _)| *e).collect();
    editions.dedup();
    for edition in editions {
        let slugs: Vec<&str> = tag_order.iter().filter(|(e, _, _)| *e == edition).map(|(_, slug, _)| *slug).collect();
        for row in
            select_in(conn, "SELECT id, slug, name FROM tags WHERE edition_id = $1 AND slug IN ", Some(edition), &slugs)
                .await?
        {
            tag_ids
                .entry(edition)
                .or_default()
                .insert(row.try_get("slug")?, (row.try_get("id")?, row.try_get("name")?));
        }
    }
    let values: Vec<Vec<V<'_>>> = author_order.iter().map(|(slug, name)| vec![V::Text(slug), V::Text(name)]).collect();
    insert(conn, "INSERT INTO authors (slug, name) VALUES ", "(?, ?)", t, &values, " ON CONFLICT (slug) DO NOTHING")
        .await?;
    let slugs: Vec<&str> = author_order.iter().map(|(slug, _)| *slug).collect();
    for row in select_in(conn, "SELECT id, slug, name FROM authors WHERE slug IN ", None, &slugs).await? {
        author_ids.insert(row.try_get("slug")?, (row.try_get("id")?, row.try_get("name")?));
    }
    // Each story's byline kept in its row (as one by one: the stored names).
    let tag = |edition: i64, slug: &str| {
        tag_ids
            .get(&edition)
            .and_then(|ids| ids.get(slug))
            .ok_or_else(|| StoreError::Invalid(format!("tag {slug} not stored")))
    };
    let author =
        |slug: &str| author_ids.get(slug).ok_or_else(|| StoreError::Invalid(format!("author {slug} not stored")));
    let mut bylines = Vec::with_capacity(rows.len());
    for r in &rows {
        let tags = r
            .prepared
            .tags
            .iter()
            .map(|l| tag(r.input.edition_id, &l.slug).map(|(id, name)| (*id, l.slug.as_str(), name.as_str())));
        let authors =
            r.prepared.authors.iter().map(|l| author(&l.slug).map(|(id, name)| (*id, l.slug.as_str(), name.as_str())));
        bylines.push(crate::content::byline_json(
            tags.collect::<Result<Vec<_>>>()?,
            authors.collect::<Result<Vec<_>>>()?,
        )?);
    }
    // With `KeyChecks::PerBatch` the rows written so far (tags, authors)
    // and from here on are checked at the end, as `BATCH_TABLES` finds them.
    // Stories; those with agency metadata set it, the others keep the columns' defaults.
    for with_agency in [true, false] {
        let values: Vec<Vec<V<'_>>> = rows
            .iter()
            .zip(&bylines)
            .filter(|(r, _)| r.input.agency.is_some() == with_agency)
            .map(|(r, byline)| {
                let i = r.input;
                let mut v = vec![
                    V::Int(r.news_id),
                    V::Int(i.edition_id),
                    V::Int(r.section_id),
                    V::Text(&r.prepared.slug),
                    V::Text(&i.headline),
                    V::Text(&i.lead),
                    V::Text(&i.body_source),
                    V::Text(i.body_format.as_str()),
                    V::Text(&r.body_html),
                    V::OptInt(i.photo_id),
                    V::Text(i.status.as_str()),
                    V::OptInt(i.published_at.map(|d| d.timestamp())),
                    V::OptInt(i.gallery_id),
                    V::Text(byline),
                ];
                if let Some(a) = &i.agency {
                    v.extend([
                        V::Int(a.urgency),
                        V::Text(&a.slugline),
                        V::Text(&a.located),
                        V::Text(&r.prepared.genres),
                        V::Text(&r.prepared.subjects),
                        V::Text(&a.ednote),
                        V::Int(i64::from(a.subjects_public)),
                    ]);
                }
                v
            })
            .collect();
        let (agency_columns, row) = if with_agency {
            (
                ", urgency, slugline, located, genres, subjects, ednote, subjects_public",
                format!("{STORY_ROW}{AGENCY_ROW})"),
            )
        } else {
            ("", format!("{STORY_ROW})"))
        };
        let head = format!(
            "INSERT INTO stories (news_id, edition_id, section_id, slug, headline, lead, body_source, body_format, \
             body_html, photo_id, status, published_at, updated_at, created_at, modified_at, version, gallery_id, byline{agency_columns}) VALUES "
        );
        insert(conn, &head, &row, t, &values, "").await?;
    }

    let mut values = Vec::with_capacity(story_tags.len());
    for (news_id, edition, slug, pos) in &story_tags {
        let (id, _) = tag(*edition, slug)?;
        values.push(vec![V::Int(*news_id), V::Int(*id), V::Int(*pos)]);
    }
    insert(conn, "INSERT INTO story_tags (news_id, tag_id, position) VALUES ", "(?, ?, ?)", t, &values, "").await?;
    let mut values = Vec::with_capacity(story_authors.len());
    for (news_id, slug, pos) in &story_authors {
        let (id, _) = author(slug)?;
        values.push(vec![V::Int(*news_id), V::Int(*id), V::Int(*pos)]);
    }
    insert(conn, "INSERT INTO story_authors (news_id, author_id, position) VALUES ", "(?, ?, ?)", t, &values, "")
        .await?;

    for r in &rows {
        if r.prepared.named.has_galleries() {
            crate::galleries::set_body_galleries_in(conn, r.news_id, r.input.body_format, &r.input.body_source).await?;
        }
    }

    let values: Vec<Vec<V<'_>>> = rows
        .iter()
        .map(|r| {
            vec![
                V::Int(r.news_id),
                V::Int(r.section_id),
                V::Text(&r.prepared.slug),
                V::Text(&r.input.headline),
                V::Text(&r.input.lead),
                V::Text(&r.input.body_source),
                V::Text(r.input.body_format.as_str()),
                V::Text(r.input.status.as_str()),
                V::Text(&r.input.actor),
            ]
        })
        .collect();
    insert(
        conn,
        "INSERT INTO story_revisions (news_id, version, section_id, slug, headline, lead, body_source, body_format, status, actor, created_at) VALUES ",
        "(?, 1, ?, ?, ?, ?, ?, ?, ?, ?, #)",
        t,
        &values,
        "",
    )
    .await?;

    // The change log, as `record_change` writes it for a story just created:
    // its status, version 1, no public update time.
    let mut values = Vec::with_capacity(rows.len());
    for r in &rows {
        let embargoed = r.input.status == newsdesk_domain::StoryStatus::Scheduled
            && crate::wire_access::is_embargoed(conn, r.news_id).await?;
        values.push(vec![
            V::Int(r.news_id),
            V::Int(r.input.edition_id),
            V::Text(r.input.status.as_str()),
            V::Int(i64::from(embargoed)),
        ]);
    }
    insert(
        conn,
        "INSERT INTO story_changes (news_id, edition_id, changed_at, kind, status, version, updated_at, embargoed) VALUES ",
        "(?, ?, #, 'story', ?, 1, NULL, ?)",
        t,
        &values,
        "",
    )
    .await?;
    if let Checks::PerBatch { keys, .. } = checks {
        let last = first + rows.len() as i64 - 1;
        for key in keys.iter() {
            let missing: Vec<String> =
                sqlx::query_scalar(&key.sql).bind(first).bind(last).fetch_all(&mut *conn).await?;
            if !missing.is_empty() {
                return Err(StoreError::Invalid(format!(
                    "{} names what does not exist: {}; nothing was stored",
                    key.name,
                    missing.join(", ")
                )));
            }
        }
    }
    crate::changes::notify_change(conn).await?;
    Ok(rows.iter().map(|r| r.news_id).collect())
}

/// Finds out which [`KeyChecks`] `store` may use (see there).
async fn probe_key_checks(store: &Store) -> Result<Checks> {
    if store.backend() != crate::Backend::Postgres {
        return Ok(Checks::PerRow);
    }
    let mut conn = store.pool().acquire().await?;
    let superuser: bool = sqlx::query_scalar("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        .fetch_optional(&mut *conn)
        .await?
        .unwrap_or(false);
    let may_set = superuser || {
        // `GRANT SET ON PARAMETER` came with PostgreSQL 15; before, only a superuser may.
        let version: String =
            sqlx::query_scalar("SELECT current_setting('server_version_num')").fetch_one(&mut *conn).await?;
        version.parse::<u32>().unwrap_or(0) >= 150_000
            && sqlx::query_scalar::<_, bool>("SELECT has_parameter_privilege('session_replication_role', 'SET')")
                .fetch_one(&mut *conn)
                .await?
    };
    if !may_set {
        tracing::debug!("bulk loads check foreign keys row by row: this role may not set session_replication_role");
        return Ok(Checks::PerRow);
    }
    let tables = BATCH_TABLES.iter().map(|(t, _)| format!("'{t}'")).collect::<Vec<_>>().join(", ");
    // Triggers and rules of our own would be turned off too (the key checks are the database's, `tgisinternal`).
    let own: i64 = sqlx::query_scalar(&format!(
        "SELECT (SELECT count(*) FROM pg_trigger WHERE NOT tgisinternal AND tgrelid IN \
           (SELECT oid FROM pg_class WHERE relnamespace = current_schema()::regnamespace AND relname IN ({tables}))) \
         + (SELECT count(*) FROM pg_rules WHERE schemaname = current_schema() AND tablename IN ({tables}))"
    ))
    .fetch_one(&mut *conn)
    .await?;
    if own > 0 {
        tracing::warn!(
            "bulk loads check foreign keys row by row: a table they write has a trigger or rule of its own, \
             which turning the key triggers off would skip"
        );
        return Ok(Checks::PerRow);
    }
    let keys = sqlx::query(&format!(
        "SELECT c.relname::text AS child, quote_ident(a.attname) AS col, quote_ident(p.relname) AS parent, \
           quote_ident(pa.attname) AS key, cardinality(k.conkey) AS cols \
         FROM pg_constraint k \
         JOIN pg_class c ON c.oid = k.conrelid JOIN pg_class p ON p.oid = k.confrelid \
         JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = k.conkey[1] \
         JOIN pg_attribute pa ON pa.attrelid = k.confrelid AND pa.attnum = k.confkey[1] \
         WHERE k.contype = 'f' AND c.relnamespace = current_schema()::regnamespace AND c.relname IN ({tables}) \
         ORDER BY k.conname"
    ))
    .fetch_all(&mut *conn)
    .await?;
    let mut checks = Vec::with_capacity(keys.len());
    for k in &keys {
        let (child, col, parent, key): (String, String, String, String) =
            (k.try_get("child")?, k.try_get("col")?, k.try_get("parent")?, k.try_get("key")?);
        if k.try_get::<i32, _>("cols")? != 1 {
            tracing::warn!(table = child, "bulk loads check foreign keys row by row: a key has several columns");
            return Ok(Checks::PerRow);
        }
        let Some((_, rows)) = BATCH_TABLES.iter().find(|(t, _)| *t == child) else {
            return Err(StoreError::Invalid(format!("no rows of {child} to check")));
        };
        // A row naming its own story: the batch's rows are found by their
        // News IDs, all of which the batch created in this transaction (no
        // other can see those stories, let alone delete them). Nothing to
        // check; locking each new story again cost ~10 µs a row.
        if col == "news_id" && parent == "stories" && key == "news_id" && rows.starts_with("news_id BETWEEN") {
            continue;
        }
        // The batch's rows are found as `BATCH_TABLES` says; the rows they
        // name are locked as the database's own check locks them, so that
        // none is deleted before the batch commits.
        let sql = format!(
            "WITH wanted AS (SELECT DISTINCT {col} AS k FROM {child} WHERE {rows} AND {col} IS NOT NULL), \
             found AS (SELECT {key} AS k FROM {parent} WHERE {key} IN (SELECT k FROM wanted) FOR KEY SHARE) \
             SELECT w.k::text FROM wanted w WHERE NOT EXISTS (SELECT 1 FROM found f WHERE f.k = w.k) ORDER BY w.k LIMIT 5"
        );
        checks.push(KeyCheck { name: format!("{child}.{col} -> {parent}.{key}"), sql });
    }
    let pool = sqlx::any::AnyPoolOptions::new()
        .max_connections(BULK_CONNECTIONS)
        .min_connections(0)
        .idle_timeout(std::time::Duration::from_secs(10))
        // More batches at once than connections wait for one (a batch takes well under a second).
        .acquire_timeout(std::time::Duration::from_secs(60))
        .after_connect(|conn, _meta| {
            Box::pin(async move {
                conn.execute(sqlx::raw_sql("SET session_replication_role = replica")).await?;
                Ok(())
            })
        })
        .connect_lazy(&store.url)?;
    Ok(Checks::PerBatch { pool, keys: checks.into() })
}

impl Store {
    /// Closes the connections bulk loads write on, if any were opened.
    pub(crate) async fn close_bulk(&self) {
        if let Some(Checks::PerBatch { pool, .. }) = self.key_checks.get() {
            pool.close().await;
        }
    }
}

/// The next `n` News IDs (the counter's row is locked until `conn`'s transaction ends); returns the first.
async fn next_news_ids(conn: &mut AnyConnection, n: usize) -> Result<NewsId> {
    let n = n as i64;
    let last: i64 = sqlx::query("UPDATE counters SET value = value + $1 WHERE name = 'news_id' RETURNING value")
        .bind(n)
        .fetch_one(&mut *conn)
        .await?
        .try_get("value")?;
    Ok(last - n + 1)
}

/// Runs `head` + `($n, ...)` over `keys`, [`KEYS_PER_SELECT`] a statement;
/// `head`'s `$1`, if any, takes `first`. (Numbered placeholders: SQLite looks
/// them up by name, fine at this many.)
async fn select_in(conn: &mut AnyConnection, head: &str, first: Option<i64>, keys: &[&str]) -> Result<Vec<AnyRow>> {
    let before = usize::from(first.is_some());
    let mut out = Vec::new();
    for part in keys.chunks(KEYS_PER_SELECT) {
        let sql = format!("{head}({})", crate::sql::placeholders(before + 1, part.len()));
        let mut q = sqlx::query(&sql);
        if let Some(first) = first {
            q = q.bind(first);
        }
        for k in part {
            q = q.bind(*k);
        }
        out.extend(q.fetch_all(&mut *conn).await?);
    }
    Ok(out)
}

/// Runs `head` + rows + `tail` over `rows`, as many rows per statement as the
/// engines' limit on bound values allows, and returns what the statements
/// return. `row` is one row's text: each `?` takes the row's next value, each
/// `#` the time of the save `t`. SQLite gets anonymous `?` placeholders:
/// numbered ones are looked up by name, which costs time quadratic in their
/// number (it was most of the work at a thousand rows a statement).
pub(crate) async fn insert(
    conn: &mut AnyConnection,
    head: &str,
    row: &str,
    t: i64,
    rows: &[Vec<V<'_>>],
    tail: &str,
) -> Result<Vec<AnyRow>> {
    let numbered = crate::Backend::of(conn) != crate::Backend::Sqlite;
    let per_row = row.matches(['?', '#']).count().max(1);
    let chunk = (MAX_PARAMS / per_row).max(1);
    let mut out = Vec::new();
    for part in rows.chunks(chunk) {
        let mut sql = String::with_capacity(head.len() + part.len() * (row.len() + per_row * 6) + tail.len());
        sql.push_str(head);
        let mut binds: Vec<V<'_>> = Vec::with_capacity(part.len() * per_row);
        for (i, values) in part.iter().enumerate() {
            if i > 0 {
                sql.push_str(", ");
            }
            let mut values = values.iter();
            for c in row.chars() {
                let v = match c {
                    '?' => *values.next().ok_or_else(|| StoreError::Invalid(format!("too few values for {row}")))?,
                    '#' => V::Int(t),
                    _ => {
                        sql.push(c);
                        continue;
                    }
                };
                binds.push(v);
                if numbered {
                    sql.push('$');
                    sql.push_str(&binds.len().to_string());
                } else {
                    sql.push('?');
                }
            }
        }
        sql.push_str(tail);
        let mut q = sqlx::query(&sql);
        for v in binds {
            q = bind(q, v);
        }
        out.extend(q.fetch_all(&mut *conn).await?);
    }
    Ok(out)
}

fn bind<'q>(q: AnyQuery<'q>, v: V<'q>) -> AnyQuery<'q> {
    match v {
        V::Int(n) => q.bind(n),
        V::OptInt(n) => q.bind(n),
        V::Text(t) => q.bind(t),
    }
}
