//! Full-text search of stories, one tantivy index per node: readers search
//! published stories ([`SearchIndex::search`]), the newsroom searches every
//! story in every state ([`SearchIndex::newsroom_search`], in [`newsroom`]).
//!
//! Each story is indexed with the analyzer of its edition's language (see
//! [`analysis`]): its headline, lead, body text, tags and byline go into that
//! analyzer's fields, and queries in the edition go through the same analyzer.
//! Results are ranked by BM25 with a freshness boost, filtered by edition,
//! section (with its subsections) and publish date, and come with highlighted,
//! HTML-escaped snippets.
//!
//! The index follows the database's change log ([`follow`]): the id of the last
//! change applied is stored in the index's own commit, so a node that was down
//! catches up from there. An index that is missing, or was written by an older
//! format of this crate, is recreated empty and filled from the database. So is
//! an index that follows another database, or another point of this one (a
//! restored backup, where change ids start again lower): the commit also
//! records the database's identity and one change the index applied, checked at
//! start ([`rebuild_reason`]).

pub mod analysis;
mod dir;
mod feed;
pub mod newsroom;
mod priority;
mod ranked;
mod text;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use chrono::{DateTime, Utc};
use newsdesk_domain::dates::from_unix;
use newsdesk_domain::{NewsId, StoryStatus, story_path};
use newsdesk_storage::{ChangeMark, DatabaseIdentity, IndexableStory};
use serde::Serialize;
use tantivy::query::{Query, QueryParser};
use tantivy::schema::{
    FAST, Facet, FacetOptions, Field, INDEXED, IndexRecordOption, STORED, STRING, Schema, TantivyDocument,
    TextFieldIndexing, TextOptions, Value,
};
use tantivy::snippet::SnippetGenerator;
use tantivy::{Index, IndexReader, IndexWriter, ReloadPolicy, Term};

pub use analysis::Analyzer;
pub use feed::{ChangeCursor, GAP_WAIT, follow, rebuild_reason, reindex_all, update};
pub use text::html_to_text;

/// Version of the index layout (schema and analysis). An index written with
/// another version is thrown away and rebuilt from the database.
pub const FORMAT_VERSION: u32 = 5;
/// File in the index directory holding [`FORMAT_VERSION`].
const VERSION_FILE: &str = "newsdesk-search-format";
/// Hits per page.
pub const PER_PAGE: usize = 10;
/// Deepest page a search may ask for.
pub const MAX_PAGE: usize = 100;
/// Longest query text accepted, in characters.
pub const MAX_QUERY_CHARS: usize = 300;
/// Memory of the index writer (tantivy splits it among its threads, at least 15 MB each):
/// a node also serves pages, so the writer stays small.
const WRITER_MEMORY: usize = 32 * 1024 * 1024;

/// What can go wrong with search.
#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    /// The index could not be read or written.
    #[error("search index: {0}")]
    Index(#[from] tantivy::TantivyError),
    /// The index directory could not be used.
    #[error("search index directory {path}: {source}")]
    Dir {
        /// The directory.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The directory holds files that are not an index; it is left alone.
    #[error("{0} holds files that are not a search index; point the index at an empty directory")]
    NotAnIndex(PathBuf),
    /// Another process (a running server) has the index open for writing.
    #[error("the search index in {0} is in use by another process (a running server?)")]
    Locked(PathBuf),
    /// The database could not be read.
    #[error("database: {0}")]
    Store(#[from] newsdesk_storage::StoreError),
    /// The request is not acceptable (names the parameter).
    #[error("{0}")]
    Invalid(String),
}

/// Result of search operations.
pub type Result<T, E = SearchError> = std::result::Result<T, E>;

/// The fields of one analyzer.
#[derive(Debug, Clone, Copy)]
struct TextFields {
    headline: Field,
    lead: Field,
    body: Field,
    tags: Field,
    byline: Field,
    slugline: Field,
}

/// The index's fields.
#[derive(Debug, Clone)]
struct Fields {
    news_id: Field,
    edition: Field,
    section: Field,
    section_path: Field,
    section_name: Field,
    slug: Field,
    published: Field,
    updated: Field,
    text: Vec<(Analyzer, TextFields)>,
    /// Workflow state (`draft`, `published`, ...): readers find only `published`.
    status: Field,
    /// The edition of a published story, as a fast field (see [`ranked`]).
    readers_edition: Field,
    /// The edition's language, stored (the `edition` field is only indexed as a term).
    lang: Field,
    /// Newsroom facts (see [`newsdesk_storage::NewsroomFacts`]); -1 where there is none.
    created_by: Field,
    modified: Field,
    desk: Field,
    stage: Field,
    assignee: Field,
    urgency: Field,
    slugline_raw: Field,
    spiked: Field,
}

impl Fields {
    fn text(&self, analyzer: Analyzer) -> TextFields {
        self.text.iter().find(|(a, _)| *a == analyzer).map(|(_, f)| *f).unwrap_or(self.text[0].1)
    }
}

fn schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let news_id = b.add_i64_field("news_id", INDEXED | STORED | FAST);
    let edition = b.add_text_field("edition", STRING | STORED);
    let section = b.add_facet_field("section", FacetOptions::default());
    let section_path = b.add_text_field("section_path", STORED);
    let section_name = b.add_text_field("section_name", STORED);
    let slug = b.add_text_field("slug", STORED);
    let published = b.add_i64_field("published", INDEXED | STORED | FAST);
    let updated = b.add_i64_field("updated", STORED);
    let status = b.add_text_field("status", STRING | STORED);
    let readers_edition = b.add_text_field(ranked::READERS_EDITION, FAST);
    let lang = b.add_text_field("lang", STORED);
    let created_by = b.add_i64_field("created_by", INDEXED);
    let modified = b.add_i64_field("modified", INDEXED | STORED | FAST);
    let desk = b.add_i64_field("desk", INDEXED | STORED);
    let stage = b.add_i64_field("stage", INDEXED | STORED);
    let assignee = b.add_i64_field("assignee", INDEXED);
    let urgency = b.add_i64_field("urgency", INDEXED | STORED | FAST);
    let slugline_raw = b.add_text_field("slugline_raw", STORED);
    let spiked = b.add_i64_field("spiked", INDEXED | STORED);
    let mut text = Vec::new();
    for a in Analyzer::ALL {
        let indexing = TextFieldIndexing::default()
            .set_tokenizer(&a.tokenizer_name())
            .set_index_option(IndexRecordOption::WithFreqsAndPositions);
        let shown = TextOptions::default().set_indexing_options(indexing.clone()).set_stored();
        let hidden = TextOptions::default().set_indexing_options(indexing);
        // The body is not stored: it was most of the index's size, which every
        // merge read again; snippets read it from the database ([`Bodies`]).
        let c = a.code();
        text.push((
            a,
            TextFields {
                headline: b.add_text_field(&format!("headline_{c}"), shown.clone()),
                lead: b.add_text_field(&format!("lead_{c}"), shown.clone()),
                body: b.add_text_field(&format!("body_{c}"), hidden.clone()),
                tags: b.add_text_field(&format!("tags_{c}"), hidden.clone()),
                byline: b.add_text_field(&format!("byline_{c}"), hidden.clone()),
                slugline: b.add_text_field(&format!("slugline_{c}"), hidden),
            },
        ));
    }
    let fields = Fields {
        news_id,
        edition,
        section,
        section_path,
        section_name,
        slug,
        published,
        updated,
        text,
        status,
        readers_edition,
        lang,
        created_by,
        modified,
        desk,
        stage,
        assignee,
        urgency,
        slugline_raw,
        spiked,
    };
    (b.build(), fields)
}

/// Where a search reads the bodies of its hits for their snippets (the index
/// does not keep them): for each News ID asked for, its body as plain text
/// ([`html_to_text`] of the body's HTML, as it was indexed). An ID left out
/// shows its lead instead.
pub trait Bodies {
    /// The bodies of `news_ids`.
    fn bodies(&self, news_ids: &[i64]) -> Result<HashMap<i64, String>>;
}

/// Bodies given as plain text (tools and tests).
impl Bodies for HashMap<i64, String> {
    fn bodies(&self, news_ids: &[i64]) -> Result<HashMap<i64, String>> {
        Ok(news_ids.iter().filter_map(|id| self.get(id).map(|b| (*id, b.clone()))).collect())
    }
}

/// No bodies: snippets come from the lead.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoBodies;

impl Bodies for NoBodies {
    fn bodies(&self, _: &[i64]) -> Result<HashMap<i64, String>> {
        Ok(HashMap::new())
    }
}

/// The bodies in the database: one query for a page of hits. It waits for
/// the query, so a search with it runs on a thread that may block (tokio's
/// `spawn_blocking`), never on the runtime's own threads.
#[derive(Debug, Clone)]
pub struct StoreBodies {
    store: newsdesk_storage::Store,
    runtime: tokio::runtime::Handle,
}

impl StoreBodies {
    /// Reads from `store` on the runtime of the caller (call it inside one).
    pub fn new(store: newsdesk_storage::Store) -> StoreBodies {
        StoreBodies { store, runtime: tokio::runtime::Handle::current() }
    }
}

/// How long a search waits for its hits' bodies before it shows their leads.
const BODIES_WAIT: std::time::Duration = std::time::Duration::from_secs(1);

impl Bodies for StoreBodies {
    /// Search answers from this node's index alone during a database outage:
    /// bodies that cannot be read (an error, or no answer within a second)
    /// leave the hits with their leads as snippets, and the failure is logged.
    fn bodies(&self, news_ids: &[i64]) -> Result<HashMap<i64, String>> {
        let read = self.runtime.block_on(tokio::time::timeout(BODIES_WAIT, self.store.bodies_html(news_ids)));
        match read {
            Ok(Ok(html)) => Ok(html.into_iter().map(|(id, html)| (id, html_to_text(&html))).collect()),
            Ok(Err(e)) => {
                newsdesk_storage::outage::warn("search snippets show leads: the bodies could not be read", &e);
                Ok(HashMap::new())
            }
            Err(_) => {
                tracing::warn!(
                    wait_ms = BODIES_WAIT.as_millis(),
                    "search snippets show leads: the bodies took too long"
                );
                Ok(HashMap::new())
            }
        }
    }
}

/// Filters of a search besides the edition.
#[derive(Debug, Clone, Default)]
pub struct Filters {
    /// Section path (`iran` or `iran/politics`); subsections are included.
    pub section: Option<String>,
    /// Published at or after this time.
    pub from: Option<DateTime<Utc>>,
    /// Published before this time.
    pub to: Option<DateTime<Utc>>,
}

/// One found story.
#[derive(Debug, Clone, Serialize)]
pub struct Hit {
    /// Public id.
    pub news_id: NewsId,
    /// Canonical path within the edition (`/news/{id}/{slug}`).
    pub path: String,
    /// Headline, plain.
    pub headline: String,
    /// Headline as HTML: escaped, query terms in `<mark>`.
    pub headline_html: String,
    /// A passage of the body (or the lead) as HTML: escaped, query terms in `<mark>`.
    pub snippet_html: String,
    /// Section path of the story.
    pub section_path: String,
    /// Section name of the story.
    pub section_name: String,
    /// First publish time.
    pub published_at: DateTime<Utc>,
    /// Last public update, if any.
    pub updated_at: Option<DateTime<Utc>>,
    /// Relevance (BM25 with the freshness boost).
    pub score: f32,
}

/// One page of results.
#[derive(Debug, Clone, Serialize)]
pub struct SearchResults {
    /// Number of matching stories.
    pub total: usize,
    /// The page shown, from 1.
    pub page: usize,
    /// Hits per page.
    pub per_page: usize,
    /// The hits of this page, best first.
    pub hits: Vec<Hit>,
}

impl SearchResults {
    /// Number of pages (at most [`MAX_PAGE`]).
    pub fn pages(&self) -> usize {
        self.total.div_ceil(self.per_page).min(MAX_PAGE)
    }
}

/// The search index of this node.
pub struct SearchIndex {
    index: Index,
    reader: IndexReader,
    writer: Mutex<IndexWriter>,
    fields: Fields,
    dir: PathBuf,
    /// The index's files; commits are synced to disk at checkpoints ([`SearchIndex::checkpoint`]).
    directory: dir::IndexDirectory,
    /// Where in which database the index is, as committed (and as the next commit records it).
    position: Mutex<Position>,
    /// Held by whoever feeds the index from the database (a rebuild, or an
    /// update from the change log) for the whole of it: a rebuild adds each
    /// story without first deleting it, which is right only while no update
    /// adds one meanwhile. A rebuild's thread holds it while it adds.
    feeding: std::sync::Arc<tokio::sync::Mutex<()>>,
    /// Deletes of single stories queued since the index was opened (see [`SearchIndex::queued_deletes`]).
    queued_deletes: std::sync::atomic::AtomicU64,
    /// Which stories of each segment readers of an edition may find (see [`ranked`]).
    edition_docs: ranked::EditionDocs,
    /// Says whether readers are waiting for pages being made (see [`SearchIndex::yield_to`]).
    readers_busy: std::sync::OnceLock<ReadersBusy>,
}

/// Whether the site's readers are waiting for pages being made at this moment.
type ReadersBusy = Box<dyn Fn() -> bool + Send + Sync>;

impl std::fmt::Debug for SearchIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SearchIndex").field("dir", &self.dir).finish_non_exhaustive()
    }
}

/// What the index's commit records of the database it follows.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Position {
    /// Last change-log id whose effect is in the index; `None`: never filled.
    pub applied_change: Option<i64>,
    /// The database the index was filled from; `None` in indexes older than
    /// this record (they are rebuilt once).
    #[serde(default)]
    pub database: Option<DatabaseIdentity>,
    /// A change of the log the index has applied (at or below
    /// `applied_change`): if the log no longer holds it as it was, the
    /// database was put back to another point.
    #[serde(default)]
    pub anchor: Option<ChangeMark>,
}

fn dir_error(path: &Path) -> impl FnOnce(std::io::Error) -> SearchError + '_ {
    move |source| SearchError::Dir { path: path.to_path_buf(), source }
}

/// Whether `dir` holds an index of the current format; clears it when it holds
/// an index of another format. Refuses to touch a directory of other files.
fn prepare_dir(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(dir_error(dir))?;
    let version = std::fs::read_to_string(dir.join(VERSION_FILE)).ok();
    if version.as_deref().map(str::trim) == Some(FORMAT_VERSION.to_string().as_str()) {
        return Ok(());
    }
    let entries: Vec<_> =
        std::fs::read_dir(dir).map_err(dir_error(dir))?.collect::<std::io::Result<_>>().map_err(dir_error(dir))?;
    if !entries.is_empty() {
        let is_index = version.is_some() || dir.join("meta.json").exists();
        if !is_index {
            return Err(SearchError::NotAnIndex(dir.to_path_buf()));
        }
        tracing::info!(dir = %dir.display(), "search index has an older format; rebuilding it");
        clear_dir(dir)?;
    }
    std::fs::write(dir.join(VERSION_FILE), format!("{FORMAT_VERSION}\n")).map_err(dir_error(dir))?;
    Ok(())
}

/// Removes everything in the index directory `dir` (an index to rebuild)
/// but tantivy's lock files (a lock held now is on them).
fn clear_dir(dir: &Path) -> Result<()> {
    for e in std::fs::read_dir(dir).map_err(dir_error(dir))? {
        let path = e.map_err(dir_error(dir))?.path();
        if path.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with(".tantivy-") && n.ends_with(".lock"))
        {
            continue;
        }
        if path.is_dir() {
            std::fs::remove_dir_all(&path).map_err(dir_error(&path))?;
        } else {
            std::fs::remove_file(&path).map_err(dir_error(&path))?;
        }
    }
    Ok(())
}

impl SearchIndex {
    /// Opens the index in `dir`, creating it (empty) if it is missing or of an
    /// older format. An empty index reports [`SearchIndex::needs_rebuild`].
    /// An index that does not open (damaged, e.g. by a power loss between two
    /// checkpoints) is thrown away and created empty, to be rebuilt from the
    /// database; one locked by another process is an error.
    pub fn open_or_create(dir: &Path) -> Result<SearchIndex> {
        prepare_dir(dir)?;
        match SearchIndex::open_prepared(dir) {
            Err(SearchError::Index(e)) => {
                // Not while another process (a running server) writes it.
                let directory = dir::IndexDirectory::open(dir).map_err(|e| SearchError::Dir {
                    path: dir.to_path_buf(),
                    source: std::io::Error::other(e.to_string()),
                })?;
                let lock =
                    tantivy::directory::Directory::acquire_lock(&directory, &tantivy::directory::INDEX_WRITER_LOCK)
                        .map_err(|_| SearchError::Locked(dir.to_path_buf()))?;
                tracing::warn!(dir = %dir.display(), error = %e, "the search index does not open; rebuilding it from the database");
                clear_dir(dir)?;
                std::fs::write(dir.join(VERSION_FILE), format!("{FORMAT_VERSION}\n")).map_err(dir_error(dir))?;
                drop(lock);
                SearchIndex::open_prepared(dir)
            }
            opened => opened,
        }
    }

    fn open_prepared(dir: &Path) -> Result<SearchIndex> {
        let (schema, fields) = schema();
        let directory = dir::IndexDirectory::open(dir)
            .map_err(|e| SearchError::Dir { path: dir.to_path_buf(), source: std::io::Error::other(e.to_string()) })?;
        let index = Index::open_or_create(directory.clone(), schema)?;
        analysis::register(index.tokenizers());
        let writer = index.writer(WRITER_MEMORY).map_err(|e| match e {
            tantivy::TantivyError::LockFailure(..) => SearchError::Locked(dir.to_path_buf()),
            e => SearchError::Index(e),
        })?;
        // Its indexing, merging and compressing threads (and those they start) yield to the site's readers.
        priority::lower_index_threads();
        let reader = index.reader_builder().reload_policy(ReloadPolicy::Manual).try_into()?;
        let position =
            index.load_metas()?.payload.and_then(|p| serde_json::from_str::<Position>(&p).ok()).unwrap_or_default();
        Ok(SearchIndex {
            index,
            reader,
            writer: Mutex::new(writer),
            fields,
            dir: dir.to_path_buf(),
            directory,
            position: Mutex::new(position),
            feeding: std::sync::Arc::new(tokio::sync::Mutex::new(())),
            queued_deletes: std::sync::atomic::AtomicU64::new(0),
            readers_busy: std::sync::OnceLock::new(),
            edition_docs: ranked::EditionDocs::default(),
        })
    }

    /// Syncs the commits made since the last checkpoint to disk (a commit
    /// alone makes changes visible at once, without waiting for the disk; see
    /// the `dir` module). Called every few seconds by [`follow`], after a
    /// rebuild and when the server stops.
    pub fn checkpoint(&self) -> Result<()> {
        let started = std::time::Instant::now();
        self.directory.checkpoint().map_err(dir_error(&self.dir))?;
        metrics::histogram!("newsdesk_search_checkpoint_seconds").record(started.elapsed().as_secs_f64());
        Ok(())
    }

    /// How many files were written since the last [`SearchIndex::checkpoint`].
    pub fn unsynced_files(&self) -> usize {
        self.directory.unsynced_files()
    }

    /// Where the index lives.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Whether the index was never filled from the database (new, or rebuilt for a new format).
    pub fn needs_rebuild(&self) -> bool {
        self.applied_change().is_none()
    }

    /// The last change-log id whose effect is committed in the index.
    pub fn applied_change(&self) -> Option<i64> {
        lock(&self.position).applied_change
    }

    /// The database and point in it the index follows, as last committed.
    pub fn position(&self) -> Position {
        lock(&self.position).clone()
    }

    /// Records which database the index follows, and a change it has applied,
    /// with the next commit (a rebuild, or a start that checked them).
    pub fn set_followed(&self, database: DatabaseIdentity, anchor: Option<ChangeMark>) {
        let mut position = lock(&self.position);
        position.database = Some(database);
        position.anchor = anchor;
    }

    fn writer(&self) -> MutexGuard<'_, IndexWriter> {
        lock(&self.writer)
    }

    /// Adds or replaces a story, in whatever state it is: readers find it
    /// only while it is published, the newsroom always. Visible after
    /// [`SearchIndex::commit`].
    pub fn index_story(&self, story: &IndexableStory) -> Result<()> {
        self.add_story(story, true)
    }

    /// Adds a story the index does not hold: one read by a rebuild after
    /// [`SearchIndex::clear`], each story once. Queues no delete: tantivy
    /// keeps every queued delete (about 1 KB each) until the commit, which a
    /// rebuild makes only at its end — a gigabyte at a million stories.
    pub(crate) fn add_new_story(&self, story: &IndexableStory) -> Result<()> {
        self.add_story(story, false)
    }

    fn add_story(&self, story: &IndexableStory, replace: bool) -> Result<()> {
        let f = &self.fields;
        let t = f.text(Analyzer::for_lang(&story.edition_lang));
        let mut doc = TantivyDocument::default();
        doc.add_i64(f.news_id, story.news_id);
        doc.add_text(f.edition, &story.edition_lang);
        let segments: Vec<&str> = story.section_path.split('/').filter(|s| !s.is_empty()).collect();
        doc.add_facet(f.section, Facet::from_path(segments));
        doc.add_text(f.section_path, &story.section_path);
        doc.add_text(f.section_name, &story.section_name);
        doc.add_text(f.slug, &story.slug);
        if let Some(published) = story.published_at {
            doc.add_i64(f.published, published.timestamp());
        }
        doc.add_text(f.status, story.status.as_str());
        if story.status == StoryStatus::Published {
            doc.add_text(f.readers_edition, &story.edition_lang);
        }
        doc.add_text(f.lang, &story.edition_lang);
        let n = &story.newsroom;
        doc.add_i64(f.created_by, n.created_by.unwrap_or(-1));
        doc.add_i64(f.modified, n.modified_at.or(story.published_at).map_or(0, |t| t.timestamp()));
        doc.add_i64(f.desk, n.desk_id.unwrap_or(-1));
        doc.add_i64(f.stage, n.stage_id.unwrap_or(-1));
        doc.add_i64(f.assignee, n.assignee_id.unwrap_or(-1));
        doc.add_i64(f.urgency, n.urgency.unwrap_or(-1));
        doc.add_i64(f.spiked, i64::from(n.spiked));
        if !n.slugline.is_empty() {
            doc.add_text(f.slugline_raw, &n.slugline);
            // Desks write `IRAN-DEFENCE-EXPORTS`: its words are found one by one.
            doc.add_text(t.slugline, n.slugline.replace(['-', '_', '/'], " "));
        }
        if let Some(u) = story.updated_at {
            doc.add_i64(f.updated, u.timestamp());
        }
        doc.add_text(t.headline, &story.headline);
        doc.add_text(t.lead, &story.lead);
        doc.add_text(t.body, html_to_text(&story.body_html));
        for tag in &story.tags {
            doc.add_text(t.tags, tag);
        }
        for name in &story.authors {
            doc.add_text(t.byline, name);
        }
        let writer = self.writer();
        if replace {
            self.delete(&writer, story.news_id);
        }
        writer.add_document(doc)?;
        Ok(())
    }

    /// Removes a story. Visible after [`SearchIndex::commit`].
    pub fn remove(&self, news_id: NewsId) -> Result<()> {
        self.delete(&self.writer(), news_id);
        Ok(())
    }

    fn delete(&self, writer: &IndexWriter, news_id: NewsId) {
        writer.delete_term(Term::from_field_i64(self.fields.news_id, news_id));
        self.queued_deletes.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }

    /// How many deletes of single stories were queued since the index was
    /// opened (each is held in memory until the next commit).
    pub fn queued_deletes(&self) -> u64 {
        self.queued_deletes.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Has a rebuild read its next page of stories from the database only
    /// once `busy` says no reader waits, or after 100 ms (see
    /// [`crate::reindex_all`]). Set once; later calls are ignored.
    pub fn yield_to(&self, busy: impl Fn() -> bool + Send + Sync + 'static) {
        let _ = self.readers_busy.set(Box::new(busy));
    }

    /// Whether readers wait for pages at this moment (never, unless [`SearchIndex::yield_to`] said how to know).
    pub fn readers_busy(&self) -> bool {
        self.readers_busy.get().is_some_and(|busy| busy())
    }

    /// Waits for, then holds, the turn to feed the index from the database
    /// (see [`crate::reindex_all`] and [`crate::update`]).
    pub(crate) async fn feeding_turn(&self) -> tokio::sync::OwnedMutexGuard<()> {
        std::sync::Arc::clone(&self.feeding).lock_owned().await
    }

    /// Removes every story (a rebuild starts so). Visible after [`SearchIndex::commit`].
    pub fn clear(&self) -> Result<()> {
        self.writer().delete_all_documents()?;
        Ok(())
    }

    /// Makes the changes so far visible to searches (durable at the next
    /// [`SearchIndex::checkpoint`]), recording the change-log id applied so
    /// far (unchanged if `None`).
    pub fn commit_applied(&self, applied_change: Option<i64>) -> Result<()> {
        let started = std::time::Instant::now();
        let mut position = lock(&self.position);
        let next = Position { applied_change: applied_change.or(position.applied_change), ..position.clone() };
        {
            let mut writer = self.writer();
            let mut prepared = writer.prepare_commit()?;
            if next.applied_change.is_some() {
                let payload = serde_json::to_string(&next).map_err(|e| SearchError::Invalid(e.to_string()))?;
                prepared.set_payload(&payload);
            }
            prepared.commit()?;
        }
        *position = next;
        self.reader.reload()?;
        metrics::histogram!("newsdesk_search_commit_seconds").record(started.elapsed().as_secs_f64());
        Ok(())
    }

    /// Moves searches to the index's current segments when merges replaced
    /// the ones they read; returns whether it did. A merge commits on its own
    /// in the background, and searches are otherwise moved only by our
    /// commits: until then they hold the merged-away segments, whose files
    /// are deleted on disk but stay mapped, and a merge reads its segments
    /// whole through those maps (after a rebuild of 300,000 stories: 250 MB
    /// of the server's resident memory, given back by a restart). Called
    /// every few seconds by [`follow`].
    pub fn refresh_after_merges(&self) -> Result<bool> {
        let current: std::collections::HashSet<tantivy::index::SegmentId> =
            self.index.searchable_segment_ids()?.into_iter().collect();
        let read: std::collections::HashSet<tantivy::index::SegmentId> =
            self.reader.searcher().segment_readers().iter().map(|s| s.segment_id()).collect();
        if current == read {
            return Ok(false);
        }
        self.reader.reload()?;
        Ok(true)
    }

    /// Makes the changes so far visible to searches (durable at the next [`SearchIndex::checkpoint`]).
    pub fn commit(&self) -> Result<()> {
        self.commit_applied(None)
    }

    /// Number of stories in the index (in every state).
    pub fn len(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    /// Whether the index holds no story.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A reader's words as a query of the analyzer's fields `t`, weighted
    /// (headline, tags, lead and byline above the body), all words required;
    /// `None` when it holds no word to look for (only stop words, or syntax
    /// alone such as `*`).
    fn reader_query(&self, t: TextFields, query: &str) -> Option<Box<dyn Query>> {
        let mut parser = QueryParser::new(
            self.index.schema(),
            vec![t.headline, t.lead, t.body, t.tags, t.byline],
            self.index.tokenizers().clone(),
        );
        parser.set_conjunction_by_default();
        parser.set_field_boost(t.headline, 3.0);
        parser.set_field_boost(t.tags, 2.0);
        parser.set_field_boost(t.lead, 1.5);
        parser.set_field_boost(t.byline, 1.5);
        // Lenient: a reader's stray quote or colon is not an error.
        let (text_query, _) = parser.parse_query_lenient(&strip_field_syntax(query));
        let mut has_terms = false;
        text_query.query_terms(&mut |_, _| has_terms = true);
        has_terms.then_some(text_query)
    }

    /// Searches published stories of `edition` (a language code) for `query`,
    /// page `page` (from 1). An empty query finds nothing.
    /// Snippets come from `bodies`.
    pub fn search(
        &self,
        edition: &str,
        query: &str,
        filters: &Filters,
        page: usize,
        bodies: &dyn Bodies,
    ) -> Result<SearchResults> {
        self.search_at(edition, query, filters, page, Utc::now(), bodies)
    }

    /// [`SearchIndex::search`] as of `now` (for the freshness boost and the embargo cut-off).
    pub fn search_at(
        &self,
        edition: &str,
        query: &str,
        filters: &Filters,
        page: usize,
        now: DateTime<Utc>,
        bodies: &dyn Bodies,
    ) -> Result<SearchResults> {
        if !(1..=MAX_PAGE).contains(&page) {
            return Err(SearchError::Invalid(format!("page must be between 1 and {MAX_PAGE}")));
        }
        if query.chars().count() > MAX_QUERY_CHARS {
            return Err(SearchError::Invalid(format!("q must be at most {MAX_QUERY_CHARS} characters")));
        }
        if let (Some(from), Some(to)) = (filters.from, filters.to)
            && from >= to
        {
            return Err(SearchError::Invalid("from must be before to".into()));
        }
        let empty = SearchResults { total: 0, page, per_page: PER_PAGE, hits: Vec::new() };
        if query.trim().is_empty() {
            return Ok(empty);
        }
        let f = &self.fields;
        let t = f.text(Analyzer::for_lang(edition));
        let Some(text_query) = self.reader_query(t, query) else { return Ok(empty) };
        let section = filters.section.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(|section| {
            Term::from_facet(f.section, &Facet::from_path(section.split('/').filter(|s| !s.is_empty())))
        });
        let scope = ranked::Scope {
            edition,
            now: now.timestamp(),
            from: filters.from.map(|t| t.timestamp()),
            to: filters.to.map(|t| t.timestamp()),
            section,
        };
        let searcher = self.reader.searcher();
        let (total, top) =
            ranked::search(&searcher, &self.edition_docs, &*text_query, &scope, PER_PAGE, (page - 1) * PER_PAGE)?;
        let mut headline_gen = SnippetGenerator::create(&searcher, &*text_query, t.headline)?;
        headline_gen.set_max_num_chars(1000);
        let mut body_gen = SnippetGenerator::create(&searcher, &*text_query, t.body)?;
        body_gen.set_max_num_chars(220);
        let mut lead_gen = SnippetGenerator::create(&searcher, &*text_query, t.lead)?;
        lead_gen.set_max_num_chars(220);
        let mut docs = Vec::with_capacity(top.len());
        for (score, addr) in top {
            docs.push((score, searcher.doc::<TantivyDocument>(addr)?));
        }
        let ids: Vec<i64> = docs.iter().filter_map(|(_, d)| d.get_first(f.news_id).and_then(|v| v.as_i64())).collect();
        let texts = bodies.bodies(&ids)?;
        let mut hits = Vec::with_capacity(docs.len());
        for (score, doc) in docs {
            let text = |field: Field| doc.get_first(field).and_then(|v| v.as_str()).unwrap_or_default().to_string();
            let int = |field: Field| doc.get_first(field).and_then(|v| v.as_i64());
            let headline = text(t.headline);
            let lead = text(t.lead);
            let news_id = int(f.news_id).unwrap_or_default();
            let headline_html = highlighted(&headline_gen, &headline).unwrap_or_else(|| escape(&headline));
            let body = texts.get(&news_id).map(String::as_str).unwrap_or_default();
            let snippet_html = highlighted(&body_gen, body)
                .or_else(|| highlighted(&lead_gen, &lead))
                .unwrap_or_else(|| escape(&truncate_chars(&lead, 220)));
            hits.push(Hit {
                news_id,
                path: story_path(news_id, &text(f.slug)),
                headline,
                headline_html,
                snippet_html,
                section_path: text(f.section_path),
                section_name: text(f.section_name),
                published_at: from_unix(int(f.published).unwrap_or_default()),
                updated_at: int(f.updated).map(from_unix),
                score,
            });
        }
        Ok(SearchResults { total, page, per_page: PER_PAGE, hits })
    }
}

/// A snippet with its matches in `<mark>`, or `None` when nothing in `text` matched.
fn highlighted(generator: &SnippetGenerator, text: &str) -> Option<String> {
    let mut snippet = generator.snippet(text);
    if snippet.is_empty() {
        return None;
    }
    snippet.set_snippet_prefix_postfix("<mark>", "</mark>");
    // Say where the passage was cut out of a longer text.
    let fragment = snippet.fragment().trim();
    let before = if text.trim_start().starts_with(fragment) { "" } else { "… " };
    let after = if text.trim_end().ends_with(fragment) { "" } else { " …" };
    Some(format!("{before}{}{after}", snippet.to_html().trim()))
}

/// Readers do not address index fields: `field:value` is searched as two words.
fn strip_field_syntax(query: &str) -> String {
    query.replace(':', " ")
}

fn truncate_chars(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.to_string(),
    }
}

fn escape(text: &str) -> String {
    newsdesk_domain::html::escape(text)
}

/// Locks a mutex, going on after a panic in another holder: the guarded
/// values (writer, a counter) stay consistent between calls.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use tantivy::collector::{Count, TopDocs};
    use tantivy::query::{BooleanQuery, ConstScoreQuery, Occur, RangeQuery, TermQuery};
    use tantivy::{DocId, Score, SegmentReader};

    /// A fixed pseudo-random sequence (a linear congruential generator).
    struct Lcg(u64);

    impl Lcg {
        fn below(&mut self, n: u64) -> u64 {
            self.0 = self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            (self.0 >> 33) % n
        }
        /// `n` words, the first of `words` far more often than the last.
        fn words(&mut self, words: &[&str], n: usize) -> String {
            let len = words.len() as u64;
            (0..n)
                .map(|_| {
                    let reach = self.below(len) + 1;
                    words[self.below(reach) as usize]
                })
                .collect::<Vec<_>>()
                .join(" ")
        }
    }

    /// tantivy's exhaustive search of the same words: the scope as clauses of
    /// one query that add nothing to the score, every match scored and
    /// boosted. The total and the page's news ids with their scores.
    fn exhaustive(
        index: &SearchIndex,
        edition: &str,
        q: &str,
        filters: &Filters,
        page: usize,
        now: DateTime<Utc>,
    ) -> (usize, Vec<(i64, Score)>) {
        let f = &index.fields;
        let text = index.reader_query(f.text(Analyzer::for_lang(edition)), q).expect("words");
        let scoreless =
            |query: Box<dyn Query>| (Occur::Must, Box::new(ConstScoreQuery::new(query, 0.0)) as Box<dyn Query>);
        let term = |term: Term| -> Box<dyn Query> { Box::new(TermQuery::new(term, IndexRecordOption::Basic)) };
        let published = |at: i64| Term::from_field_i64(f.published, at);
        let upper = filters.to.map_or(now.timestamp() + 1, |to| to.timestamp().min(now.timestamp() + 1));
        let lower = filters
            .from
            .map_or(std::ops::Bound::Unbounded, |from| std::ops::Bound::Included(published(from.timestamp())));
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = vec![
            (Occur::Must, text),
            scoreless(term(Term::from_field_text(f.edition, edition))),
            scoreless(term(Term::from_field_text(f.status, "published"))),
            scoreless(Box::new(RangeQuery::new(lower, std::ops::Bound::Excluded(published(upper))))),
        ];
        if let Some(section) = &filters.section {
            clauses.push(scoreless(term(Term::from_facet(f.section, &Facet::from_path(section.split('/'))))));
        }
        let now = now.timestamp();
        let top = TopDocs::with_limit(PER_PAGE).and_offset((page - 1) * PER_PAGE).tweak_score(
            move |segment: &SegmentReader| {
                let at = segment.fast_fields().i64("published").expect("published").first_or_default_col(i64::MAX);
                move |doc: DocId, score: Score| score * ranked::freshness(now - at.get_val(doc))
            },
        );
        let searcher = index.reader.searcher();
        let (total, docs) = searcher.search(&BooleanQuery::new(clauses), &(Count, top)).expect("search");
        let ids = docs
            .into_iter()
            .map(|(score, addr)| {
                let doc: TantivyDocument = searcher.doc(addr).expect("doc");
                (doc.get_first(f.news_id).and_then(|v| v.as_i64()).expect("news id"), score)
            })
            .collect();
        (total, ids)
    }

    #[cfg(target_os = "linux")]
    /// The files of the index directory `dir` this process has mapped though
    /// they were deleted (`/proc/self/maps`).
    fn deleted_maps(dir: &Path) -> Vec<String> {
        let dir = dir.canonicalize().expect("dir").display().to_string();
        std::fs::read_to_string("/proc/self/maps")
            .expect("maps")
            .lines()
            .filter(|l| l.contains(&dir) && l.ends_with("(deleted)"))
            .map(String::from)
            .collect()
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn searches_let_go_of_segments_merged_away() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("search");
        let index = SearchIndex::open_or_create(&path).expect("open");
        let story = |news_id: i64| IndexableStory {
            news_id,
            edition_lang: "en".into(),
            section_path: "world".into(),
            section_name: String::new(),
            slug: format!("story-{news_id}"),
            headline: format!("Rain over the port {news_id}"),
            lead: "Lead.".into(),
            body_html: "<p>Body of the story.</p>".into(),
            status: StoryStatus::Published,
            published_at: Some(Utc::now() - chrono::Duration::hours(news_id)),
            updated_at: None,
            tags: Vec::new(),
            authors: Vec::new(),
            newsroom: Default::default(),
        };
        for batch in 0..3 {
            for id in (batch * 100 + 1)..=(batch * 100 + 100) {
                index.index_story(&story(id)).expect("index");
            }
            index.commit().expect("commit");
        }
        let before = index.reader.searcher().segment_readers().len();
        assert!(before >= 2, "{before} segments");
        assert!(!index.refresh_after_merges().expect("refresh"), "nothing merged yet");
        // A merge in the background, as tantivy's merge policy starts them.
        let ids = index.index.searchable_segment_ids().expect("ids");
        index.writer().merge(&ids).wait().expect("merged");
        assert_eq!(index.reader.searcher().segment_readers().len(), before, "searches still read the old segments");
        assert!(!deleted_maps(&path).is_empty(), "the merged-away files stay mapped");
        assert!(index.refresh_after_merges().expect("refresh"));
        assert_eq!(index.reader.searcher().segment_readers().len(), 1);
        assert_eq!(deleted_maps(&path), Vec::<String>::new(), "let go");
        assert_eq!(index.len(), 300, "the same stories");
        assert!(!index.refresh_after_merges().expect("refresh"), "nothing new");
    }

    /// `ranked` (the words alone as the query, the scope read from fast fields
    /// and a bit per story, the boost skipped for matches that cannot enter
    /// the page) finds what tantivy's search with the scope as clauses finds,
    /// page by page: drafts, another edition in the same language, embargoed
    /// and replaced stories among the matches.
    #[test]
    fn search_finds_what_tantivys_exhaustive_search_finds() {
        let dir = tempfile::tempdir().expect("temp dir");
        let index = SearchIndex::open_or_create(&dir.path().join("search")).expect("open");
        let now = Utc.with_ymd_and_hms(2026, 6, 1, 12, 0, 0).single().expect("time");
        let words = ["minister", "oil", "talks", "bank", "vote", "court", "rain", "port", "drought", "bridge"];
        let mut rng = Lcg(7);
        let story = |rng: &mut Lcg, news_id: i64| {
            // Stories 5 h apart over 600 days (within the boost's reach: no two boosts equal),
            // a few after `now` (embargoed).
            let published = now - chrono::Duration::hours(5 * (2_950 - news_id));
            let status = match rng.below(10) {
                0 => StoryStatus::Draft,
                1 => StoryStatus::Unpublished,
                _ => StoryStatus::Published,
            };
            let (headline_len, body_len) = (3 + rng.below(4) as usize, 10 + rng.below(60) as usize);
            IndexableStory {
                news_id,
                edition_lang: if rng.below(5) == 0 { "en-GB" } else { "en" }.into(),
                section_path: ["world", "world/asia", "sport"][rng.below(3) as usize].into(),
                section_name: String::new(),
                slug: format!("story-{news_id}"),
                headline: rng.words(&words, headline_len),
                lead: rng.words(&words, 8),
                body_html: format!("<p>{}</p>", rng.words(&words, body_len)),
                status,
                published_at: Some(published),
                updated_at: None,
                tags: vec![rng.words(&words, 1)],
                authors: Vec::new(),
                newsroom: Default::default(),
            }
        };
        // Four segments.
        for batch in 0..4 {
            for id in (batch * 750)..(batch * 750 + 750) {
                index.index_story(&story(&mut rng, id)).expect("index");
            }
            index.commit().expect("commit");
        }
        let day = |d: u32| Utc.with_ymd_and_hms(2026, 1, d, 0, 0, 0).single().expect("day");
        let scopes = [
            Filters::default(),
            Filters { section: Some("world".into()), ..Filters::default() },
            Filters { section: Some("world/asia".into()), ..Filters::default() },
            Filters { from: Some(day(5)), to: Some(day(28)), ..Filters::default() },
            Filters { section: Some("sport".into()), from: Some(day(10)), to: None },
        ];
        let mut full_pages = 0;
        let mut compare = |index: &SearchIndex| {
            for edition in ["en", "en-GB"] {
                for q in ["minister", "oil", "talks bank", "\"oil minister\"", "drought OR bridge", "court -rain"] {
                    for filters in &scopes {
                        for page in 1..=3 {
                            let (total, expected) = exhaustive(index, edition, q, filters, page, now);
                            let found = index.search_at(edition, q, filters, page, now, &NoBodies).expect("search");
                            let what = format!("{edition} {q} {filters:?} page {page}");
                            assert_eq!(found.total, total, "{what}");
                            let found: Vec<(i64, Score)> = found.hits.iter().map(|h| (h.news_id, h.score)).collect();
                            assert_eq!(found.len(), expected.len(), "{what}");
                            for ((id, score), (want, want_score)) in found.iter().zip(&expected) {
                                assert_eq!(id, want, "{what}: {found:?} vs {expected:?}");
                                assert!(
                                    (score - want_score).abs() <= want_score * 1e-5,
                                    "{what}: {score} vs {want_score}"
                                );
                            }
                            full_pages += usize::from(total > 3 * PER_PAGE);
                        }
                    }
                }
            }
        };
        compare(&index);
        // A tenth of the stories written again, some now unpublished or in
        // the other edition (their old documents deleted in segments the
        // searches above read), and a segment more.
        for id in (0..3_000).step_by(10).chain(3_000..3_200) {
            index.index_story(&story(&mut rng, id)).expect("index");
        }
        index.commit().expect("commit");
        compare(&index);
        // Most of them had more matches than three pages: skipping had work.
        assert!(full_pages > 100, "{full_pages}");
    }

    #[test]
    fn truncates_on_char_boundaries() {
        assert_eq!(truncate_chars("سلام دنیا", 4), "سلام…");
        assert_eq!(truncate_chars("abc", 5), "abc");
    }
}
