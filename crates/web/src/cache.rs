//! The page cache: rendered pages kept in memory (bounded by bytes) and
//! dropped precisely when a story they show, or a list they would show it in,
//! changes.
//!
//! Each page has *slots* for the few edition-wide fragments that change on
//! every publish (the header's "Updated in" and the "Latest" box). Slots are
//! filled at serve time from the edition's [`Chrome`], so a publish re-renders
//! one small fragment instead of every page of the site. A page is kept as one
//! copy of its bytes, filled for the newest chrome version, with where each
//! slot's fragment lies in them (and its gzip and brotli forms once asked
//! for): the next chrome version is filled in from that copy, so the page's
//! own bytes are not kept twice.

use std::collections::HashMap;
use std::io::Write;
use std::ops::Range;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use bytes::Bytes;
use chrono::{DateTime, Utc};

/// A fragment shared by all pages of an edition, filled in at serve time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slot {
    /// The header's `Updated in: ...` line.
    UpdatedIn,
    /// The sidebar's "Latest" list.
    Latest,
    /// The sidebar's "Most visited" box.
    MostVisited,
    /// The breaking-news banner under the header (empty when there is none).
    Breaking,
}

impl Slot {
    const ALL: [Slot; 4] = [Slot::UpdatedIn, Slot::Latest, Slot::MostVisited, Slot::Breaking];

    /// The marker a template writes where the slot goes (each starts with `<!--nd:slot:`).
    pub const fn marker(self) -> &'static str {
        match self {
            Slot::UpdatedIn => "<!--nd:slot:updated-in-->",
            Slot::Latest => "<!--nd:slot:latest-->",
            Slot::MostVisited => "<!--nd:slot:most-visited-->",
            Slot::Breaking => "<!--nd:slot:breaking-->",
        }
    }
}

/// How every slot marker starts.
const SLOT_PREFIX: &str = "<!--nd:slot:";

/// A page's bytes and where each slot's fragment lies in them.
#[derive(Debug, Clone)]
struct Layout {
    bytes: Bytes,
    slots: Vec<(Slot, Range<usize>)>,
}

impl Layout {
    /// Rendered HTML with its slot markers taken out (each slot empty where its marker was).
    /// One pass over the page: every marker starts with [`SLOT_PREFIX`].
    fn parse(html: &str) -> Layout {
        static FINDER: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
            std::sync::LazyLock::new(|| memchr::memmem::Finder::new(SLOT_PREFIX));
        let mut bytes = Vec::with_capacity(html.len());
        let mut slots = Vec::new();
        let mut rest = html.as_bytes();
        let mut from = 0;
        while let Some(i) = FINDER.find(&rest[from..]).map(|i| from + i) {
            let Some(slot) = Slot::ALL.into_iter().find(|s| rest[i..].starts_with(s.marker().as_bytes())) else {
                // Text that only looks like a marker stays.
                from = i + SLOT_PREFIX.len();
                continue;
            };
            bytes.extend_from_slice(&rest[..i]);
            slots.push((slot, bytes.len()..bytes.len()));
            rest = &rest[i + slot.marker().len()..];
            from = 0;
        }
        bytes.extend_from_slice(rest);
        Layout { bytes: Bytes::from(bytes), slots }
    }

    /// The same page with each slot's fragment replaced by `chrome`'s.
    fn refill(&self, chrome: &Chrome) -> Layout {
        let fragments: usize = self.slots.iter().map(|(s, _)| chrome.slot(*s).len()).sum();
        let mut bytes = Vec::with_capacity(self.fixed_len() + fragments);
        let mut slots = Vec::with_capacity(self.slots.len());
        let mut at = 0;
        for (slot, range) in &self.slots {
            bytes.extend_from_slice(&self.bytes[at..range.start]);
            let start = bytes.len();
            bytes.extend_from_slice(chrome.slot(*slot).as_bytes());
            slots.push((*slot, start..bytes.len()));
            at = range.end;
        }
        bytes.extend_from_slice(&self.bytes[at..]);
        Layout { bytes: Bytes::from(bytes), slots }
    }

    /// The page's own bytes (without the fragments).
    fn fixed_len(&self) -> usize {
        self.bytes.len() - self.slots.iter().map(|(_, r)| r.len()).sum::<usize>()
    }
}

/// The edition-wide fragments at one moment.
#[derive(Debug)]
pub struct Chrome {
    /// Unique version of this chrome (part of every ETag).
    pub version: u64,
    /// HTML of the "Updated in" slot.
    pub updated_in: String,
    /// HTML of the "Latest" slot.
    pub latest: String,
    /// HTML of the "Most visited" slot.
    pub most_visited: String,
    /// The edition's newest publish or update.
    pub updated_at: Option<DateTime<Utc>>,
    /// HTML of the breaking-news banner (empty: none).
    pub breaking: String,
    /// When the first story in the banner stops being breaking: the fragments
    /// are rebuilt then, on every node, without any change in the log.
    pub breaking_until: Option<DateTime<Utc>>,
}

static VERSIONS: AtomicU64 = AtomicU64::new(1);

/// A fresh, process-unique version number.
pub fn next_version() -> u64 {
    VERSIONS.fetch_add(1, Ordering::Relaxed)
}

impl Chrome {
    fn slot(&self, slot: Slot) -> &str {
        match slot {
            Slot::UpdatedIn => &self.updated_in,
            Slot::Latest => &self.latest,
            Slot::MostVisited => &self.most_visited,
            Slot::Breaking => &self.breaking,
        }
    }

    /// How long these fragments may be used from now: `ttl`, or less when a
    /// breaking-news banner expires sooner.
    fn lifetime(&self, ttl: Duration) -> Duration {
        match self.breaking_until {
            Some(until) => (until - Utc::now()).to_std().unwrap_or_default().min(ttl),
            None => ttl,
        }
    }

    /// Whether the breaking-news banner shows a story past its expiry.
    pub fn breaking_expired(&self) -> bool {
        self.breaking_until.is_some_and(|until| until <= Utc::now())
    }
}

/// How long edition fragments are used before they are rebuilt (the "most
/// visited" ranking moves without a change in the log), unless the site sets
/// another lifetime (`sidebar_refresh_secs`).
pub const CHROME_TTL: Duration = Duration::from_secs(60);

/// How long expired fragments keep being served while one request rebuilds
/// them, and so how often a rebuild is tried while the database is unavailable.
pub const CHROME_RETRY: Duration = Duration::from_secs(5);

/// What [`ChromeCache::lookup`] found.
#[derive(Debug)]
pub enum ChromeLookup {
    /// Current fragments: serve them.
    Fresh(Arc<Chrome>),
    /// Fragments past [`CHROME_TTL`]: the caller rebuilds them, and serves these
    /// if it cannot (other callers get them as fresh for [`CHROME_RETRY`]).
    Expired(Arc<Chrome>),
    /// Nothing usable: build them.
    Missing,
}

#[derive(Debug)]
struct ChromeEntry {
    chrome: Arc<Chrome>,
    fresh_until: Instant,
}

/// The edition-wide fragments by edition id. A change drops an edition's
/// fragments (they may name a story that was just withdrawn); expiry does
/// not: expired fragments are the last good ones, served while a rebuild
/// fails (the database is unavailable) so cached pages keep answering.
#[derive(Debug)]
pub struct ChromeCache {
    entries: Mutex<HashMap<i64, ChromeEntry>>,
    /// Moves on every invalidation, so fragments read before one are not stored after it.
    generation: AtomicU64,
    /// How long stored fragments are fresh.
    ttl: Duration,
    /// Taken by whoever builds missing fragments: readers that find none at
    /// once (a start, an invalidation) build them one after the other, and
    /// all but the first find them built.
    turn: tokio::sync::Mutex<()>,
    /// Fragments built so far (for tests).
    builds: AtomicU64,
}

impl Default for ChromeCache {
    fn default() -> ChromeCache {
        ChromeCache::with_lifetime(CHROME_TTL)
    }
}

impl ChromeCache {
    /// An empty cache whose fragments are fresh for [`CHROME_TTL`].
    pub fn new() -> ChromeCache {
        ChromeCache::default()
    }

    /// An empty cache whose fragments are fresh for `ttl`.
    pub fn with_lifetime(ttl: Duration) -> ChromeCache {
        ChromeCache {
            entries: Mutex::default(),
            generation: AtomicU64::default(),
            ttl,
            turn: tokio::sync::Mutex::default(),
            builds: AtomicU64::default(),
        }
    }

    /// Counts a build of an edition's fragments.
    pub fn note_build(&self) {
        self.builds.fetch_add(1, Ordering::Relaxed);
    }

    /// How many times fragments were built (for tests).
    pub fn builds(&self) -> u64 {
        self.builds.load(Ordering::Relaxed)
    }

    /// The turn to build missing fragments; look them up again once it is yours.
    pub async fn build_turn(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.turn.lock().await
    }

    /// The fragments of `edition`, and whether the caller should rebuild them.
    /// Only one caller per [`CHROME_RETRY`] is told to rebuild expired ones.
    pub fn lookup(&self, edition: i64) -> ChromeLookup {
        let Ok(mut entries) = self.entries.lock() else { return ChromeLookup::Missing };
        let Some(e) = entries.get_mut(&edition) else { return ChromeLookup::Missing };
        let now = Instant::now();
        if now < e.fresh_until {
            return ChromeLookup::Fresh(e.chrome.clone());
        }
        e.fresh_until = now + CHROME_RETRY;
        ChromeLookup::Expired(e.chrome.clone())
    }

    /// Current fragments of `edition`, if any (not expired ones).
    pub fn get(&self, edition: &i64) -> Option<Arc<Chrome>> {
        let entries = self.entries.lock().ok()?;
        entries.get(edition).filter(|e| Instant::now() < e.fresh_until).map(|e| e.chrome.clone())
    }

    /// A token to take before reading what fragments show; see [`ChromeCache::insert_since`].
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Stores freshly built fragments of `edition`, used for [`CHROME_TTL`] or
    /// until their breaking-news banner expires, whichever comes first.
    pub fn insert(&self, edition: i64, chrome: Arc<Chrome>) {
        if let Ok(mut entries) = self.entries.lock() {
            let fresh_until = Instant::now() + chrome.lifetime(self.ttl);
            entries.insert(edition, ChromeEntry { chrome, fresh_until });
        }
    }

    /// [`ChromeCache::insert`], unless fragments were dropped since `generation`
    /// (what was read for them may be stale); returns whether it stored them.
    pub fn insert_since(&self, edition: i64, chrome: Arc<Chrome>, generation: u64) -> bool {
        let Ok(mut entries) = self.entries.lock() else { return false };
        if self.generation.load(Ordering::Acquire) != generation {
            return false;
        }
        let fresh_until = Instant::now() + chrome.lifetime(self.ttl);
        entries.insert(edition, ChromeEntry { chrome, fresh_until });
        true
    }

    /// Stores stand-in fragments of `edition` built without the database, to be
    /// served until the next try in [`CHROME_RETRY`] (unless good ones came meanwhile).
    pub fn keep_while_unavailable(&self, edition: i64, chrome: Arc<Chrome>) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.entry(edition).or_insert(ChromeEntry { chrome, fresh_until: Instant::now() + CHROME_RETRY });
        }
    }

    /// Drops the fragments of `edition` (a story of it changed).
    pub fn invalidate(&self, edition: &i64) {
        if let Ok(mut entries) = self.entries.lock() {
            self.generation.fetch_add(1, Ordering::AcqRel);
            entries.remove(edition);
        }
    }

    /// Drops every edition's fragments (a site-wide change).
    pub fn invalidate_all(&self) {
        if let Ok(mut entries) = self.entries.lock() {
            self.generation.fetch_add(1, Ordering::AcqRel);
            entries.clear();
        }
    }
}

/// A page ready to serve for one chrome version, in each encoding on demand.
#[derive(Debug)]
pub struct Assembled {
    /// Chrome version it was assembled with (`u64::MAX` before the first).
    pub chrome_version: u64,
    /// Strong validator of these bytes.
    pub etag: String,
    /// Newest of the page's and the chrome's modification times.
    pub last_modified: Option<DateTime<Utc>>,
    /// The bytes, uncompressed.
    pub identity: Bytes,
    /// Where each slot's fragment lies in `identity`.
    slots: Vec<(Slot, Range<usize>)>,
    gzip: OnceLock<Bytes>,
    brotli: OnceLock<Bytes>,
    /// Its response headers, made at the first request (boxed: most cached
    /// pages of a large archive are read once and packed, and their
    /// assemblies are kept small).
    pub(crate) headers: OnceLock<Box<crate::http::PageHeaders>>,
    /// How it is kept packed (`identity` empty), if it is: see [`CachedPage::pack_if_unused`].
    packed: Packed,
}

/// The form a packed page is kept in.
#[derive(Debug)]
enum Packed {
    /// Not packed: `identity` holds the bytes.
    No,
    /// Its gzip form (made for a reader before): `gzip` holds it.
    Gzip,
    /// Zstandard of its `len` bytes against `dictionary` (see [`Dictionaries`]).
    Zstd { bytes: Bytes, len: usize, dictionary: Arc<Dictionary> },
}

/// The page a kind of page is packed against, ready for Zstandard both ways.
struct Dictionary {
    /// The page's bytes, at most [`DICTIONARY_MAX`] of them (a raw-content
    /// dictionary; a copy: the page's own may be dropped).
    raw: Bytes,
    encoder: zstd::dict::EncoderDictionary<'static>,
    decoder: zstd::dict::DecoderDictionary<'static>,
}

impl std::fmt::Debug for Dictionary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dictionary").field("len", &self.raw.len()).finish_non_exhaustive()
    }
}

/// The most bytes of a page a dictionary holds: story, section and home pages
/// whole (15–40 KB), the start of a larger one. A month's sitemap of a large
/// archive (50,000 addresses, ~5 MB) was once a whole dictionary, held three
/// times (its bytes, Zstandard's tables both ways) for as long as the process
/// ran: ~11 MB of an idle server's memory, in the runs where a sitemap was
/// the first XML document packed. Its first 64 KB show the markup all its
/// addresses share, as much as the whole does.
const DICTIONARY_MAX: usize = 64 * 1024;

/// Zstandard's level for packing: the fastest. Against a dictionary, story
/// pages of the demo pack to 1.6 KB at it (1.5 KB at level 6, 2.6 KB with LZ4).
const ZSTD_LEVEL: i32 = 1;

/// What pages are packed against, one per kind of page: the bytes of the
/// first page of that kind packed. Zstandard then finds in it what pages of a
/// kind share (the masthead, the menus, the footer, the markup around the
/// story), and keeps of each page little more than its own text, entropy
/// coded: a story page of the demo's 15–18 KB packs to ~1.6 KB against a
/// dictionary (LZ4 against the same: ~2.6 KB).
/// A kind is the edition a story page counts its views for (or none) and the
/// content type. A dictionary is kept while this process runs (the markup
/// around the pages changes with a release, a new process); each packed page
/// holds its own so unpacking never depends on this table.
#[derive(Debug, Default)]
pub struct Dictionaries {
    by_kind: Mutex<HashMap<PageKind, Arc<Dictionary>>>,
}

/// A kind of page: the edition its views count for (none for other pages), its content type.
type PageKind = (Option<i64>, &'static str);

impl Dictionaries {
    /// The dictionary for `page`, `bytes` (its own) when it is the first of its kind.
    fn for_page(&self, page: &CachedPage, bytes: &Bytes) -> Arc<Dictionary> {
        lock(&self.by_kind)
            .entry((page.view.map(|(_, edition, _)| edition), page.content_type))
            .or_insert_with(|| {
                let raw = Bytes::copy_from_slice(&bytes[..bytes.len().min(DICTIONARY_MAX)]);
                Arc::new(Dictionary {
                    encoder: zstd::dict::EncoderDictionary::copy(&raw, ZSTD_LEVEL),
                    decoder: zstd::dict::DecoderDictionary::copy(&raw),
                    raw,
                })
            })
            .clone()
    }
}

impl Dictionary {
    /// `bytes` packed against this dictionary, in an allocation of its own size.
    fn compress(&self, bytes: &[u8]) -> std::io::Result<Bytes> {
        let mut zstd = zstd::bulk::Compressor::with_prepared_dictionary(&self.encoder)?;
        // Each packed page knows its length and dictionary: no need to write them.
        use zstd::zstd_safe::CParameter;
        for flag in [CParameter::ContentSizeFlag(false), CParameter::DictIdFlag(false), CParameter::ChecksumFlag(false)]
        {
            zstd.set_parameter(flag)?;
        }
        Ok(Bytes::copy_from_slice(&zstd.compress(bytes)?))
    }

    /// The `len` bytes `packed` holds.
    fn decompress(&self, packed: &[u8], len: usize) -> std::io::Result<Vec<u8>> {
        zstd::bulk::Decompressor::with_prepared_dictionary(&self.decoder)?.decompress(packed, len)
    }
}

impl Packed {
    fn is_packed(&self) -> bool {
        !matches!(self, Packed::No)
    }
}

/// The chrome version of a page not yet assembled (its slots empty).
const UNFILLED: u64 = u64::MAX;

impl Assembled {
    fn new(chrome_version: u64, etag: String, last_modified: Option<DateTime<Utc>>, layout: Layout) -> Assembled {
        Assembled {
            chrome_version,
            etag,
            last_modified,
            identity: layout.bytes,
            slots: layout.slots,
            gzip: OnceLock::new(),
            brotli: OnceLock::new(),
            headers: OnceLock::new(),
            packed: Packed::No,
        }
    }

    /// The same assembly kept packed: as its gzip form when a reader asked
    /// for it (nothing to compress), otherwise as Zstandard against the
    /// dictionary of its kind (tens of microseconds). `None` if Zstandard
    /// failed (it does not for bytes in memory; the page then stays as it is).
    fn pack(&self, page: &CachedPage, dictionaries: &Dictionaries) -> Option<Assembled> {
        let packed = match self.gzip.get() {
            Some(_) => Packed::Gzip,
            None => {
                let dictionary = dictionaries.for_page(page, &self.identity);
                let bytes = dictionary
                    .compress(&self.identity)
                    .inspect_err(|e| tracing::error!(error = %e, etag = %self.etag, "a cached page did not pack"))
                    .ok()?;
                Packed::Zstd { bytes, len: self.identity.len(), dictionary }
            }
        };
        Some(Assembled { packed, ..self.copy(Bytes::new()) })
    }

    /// A packed assembly's bytes again, with the same validators (and its gzip form if it had one).
    fn unpack(&self) -> Assembled {
        // Both forms were made here from the page's bytes: they read back.
        let identity = match &self.packed {
            Packed::No => return self.copy(self.identity.clone()),
            Packed::Gzip => {
                let mut out = Vec::with_capacity(self.gzip().len() * 4);
                match std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&self.gzip()[..]), &mut out) {
                    Ok(_) => out,
                    Err(e) => {
                        tracing::error!(error = %e, etag = %self.etag, "a packed page did not unpack");
                        out
                    }
                }
            }
            Packed::Zstd { bytes, len, dictionary } => dictionary.decompress(bytes, *len).unwrap_or_else(|e| {
                tracing::error!(error = %e, etag = %self.etag, "a packed page did not unpack");
                Vec::new()
            }),
        };
        self.copy(Bytes::from(identity))
    }

    /// This assembly (its validators, slots and gzip form) with `identity` as its bytes, unpacked.
    fn copy(&self, identity: Bytes) -> Assembled {
        Assembled {
            chrome_version: self.chrome_version,
            etag: self.etag.clone(),
            last_modified: self.last_modified,
            identity,
            slots: self.slots.clone(),
            gzip: self.gzip.get().map(|g| OnceLock::from(g.clone())).unwrap_or_default(),
            brotli: OnceLock::new(),
            headers: OnceLock::new(),
            packed: Packed::No,
        }
    }

    fn layout(&self) -> Layout {
        Layout { bytes: self.identity.clone(), slots: self.slots.clone() }
    }

    /// The gzip form, compressed once.
    pub fn gzip(&self) -> &Bytes {
        debug_assert!(!matches!(self.packed, Packed::Zstd { .. }), "the gzip form of a page packed without one");
        self.gzip.get_or_init(|| {
            let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(6));
            // Writing into a Vec cannot fail.
            let _ = enc.write_all(&self.identity);
            Bytes::from(enc.finish().unwrap_or_default())
        })
    }

    /// The brotli form, compressed once.
    pub fn brotli(&self) -> &Bytes {
        debug_assert!(!self.packed.is_packed(), "the brotli form of a packed page");
        self.brotli.get_or_init(|| {
            let mut out = Vec::new();
            {
                let mut w = brotli::CompressorWriter::new(&mut out, 4096, 6, 22);
                let _ = w.write_all(&self.identity);
            }
            Bytes::from(out)
        })
    }
}

/// A rendered page in the cache.
#[derive(Debug)]
pub struct CachedPage {
    /// Unique id of this rendering (the cache's dependency index tells
    /// renderings apart by it).
    pub version: u64,
    /// Part of the ETag: the version (hex) for a page with slots; for a
    /// document without slots (a feed, a sitemap) the start of its bytes'
    /// SHA-256, so the same bytes keep their ETag when rendered again (after a
    /// change that did not touch them) and on every node.
    tag: String,
    /// `Cache-Control` value for the page.
    pub cache_control: &'static str,
    /// `Content-Type` of the page.
    pub content_type: &'static str,
    /// When the content of the page last changed.
    pub modified: Option<DateTime<Utc>>,
    /// Keys whose invalidation drops the page.
    pub deps: Vec<String>,
    /// The story a view of this page counts for: (News ID, edition, section).
    pub view: Option<(i64, i64, i64)>,
    /// The page's own Content-Security-Policy (a story with embeds allows their frames); `None`: the site's.
    pub csp: Option<String>,
    /// The route of the GET that rendered it when that GET asked for the
    /// page's key itself: a GET of the key is then answered from the cache
    /// before routing ([`crate::site::hot_page`]) and counted as this route.
    pub(crate) route: Option<Arc<crate::metrics::RouteMetrics>>,
    /// The page as last assembled (the one copy of its bytes kept).
    assembled: ArcSwap<Assembled>,
    /// When it was last served ([`clock`] seconds).
    last_used: AtomicU64,
    /// Its bytes without the fragments, for the cache's weigher.
    fixed_len: usize,
}

impl CachedPage {
    /// A page made of `html` (with slot markers).
    pub fn new(
        html: &str,
        cache_control: &'static str,
        modified: Option<DateTime<Utc>>,
        deps: Vec<String>,
    ) -> CachedPage {
        CachedPage::of(Layout::parse(html), "text/html; charset=utf-8", cache_control, modified, deps)
    }

    /// A document without slots (feeds, sitemaps) of the given content type.
    pub fn document(
        body: String,
        content_type: &'static str,
        cache_control: &'static str,
        modified: Option<DateTime<Utc>>,
        deps: Vec<String>,
    ) -> CachedPage {
        CachedPage::of(
            Layout { bytes: Bytes::from(body), slots: Vec::new() },
            content_type,
            cache_control,
            modified,
            deps,
        )
    }

    fn of(
        layout: Layout,
        content_type: &'static str,
        cache_control: &'static str,
        modified: Option<DateTime<Utc>>,
        deps: Vec<String>,
    ) -> CachedPage {
        let version = next_version();
        CachedPage {
            version,
            tag: if layout.slots.is_empty() {
                crate::site::content_hash(&layout.bytes)[..16].to_string()
            } else {
                format!("{version:x}")
            },
            cache_control,
            content_type,
            modified,
            deps,
            view: None,
            csp: None,
            route: None,
            fixed_len: layout.fixed_len(),
            assembled: ArcSwap::from_pointee(Assembled::new(UNFILLED, String::new(), None, layout)),
            last_used: AtomicU64::new(clock()),
        }
    }

    fn weight(&self) -> u32 {
        // The page's one copy, with room for its fragments and compressed forms.
        u32::try_from(self.fixed_len.saturating_add(self.fixed_len / 2) + 4096).unwrap_or(u32::MAX)
    }

    /// The page with `chrome` filled in, assembled once per chrome version
    /// (from the last assembled copy, which is then let go).
    pub fn assemble(&self, chrome: &Chrome) -> Arc<Assembled> {
        let now = clock();
        if self.last_used.load(Ordering::Relaxed) != now {
            self.last_used.store(now, Ordering::Relaxed);
        }
        let last = self.unpacked(self.assembled.load_full());
        if last.chrome_version == chrome.version {
            return last;
        }
        // A document without slots (a feed, a sitemap) does not change with the
        // fragments: neither do its validators, so conditional requests still match.
        let slots = !last.slots.is_empty();
        let a = Arc::new(Assembled::new(
            chrome.version,
            if slots { format!("\"{}-{:x}\"", self.tag, chrome.version) } else { format!("\"{}\"", self.tag) },
            match (self.modified, chrome.updated_at.filter(|_| slots)) {
                (Some(a), Some(b)) => Some(a.max(b)),
                (a, b) => a.or(b),
            },
            if slots { last.layout().refill(chrome) } else { last.layout() },
        ));
        self.assembled.store(a.clone());
        a
    }

    /// `last` (the page's assembly) with its bytes, unpacked if it was packed.
    fn unpacked(&self, mut last: Arc<Assembled>) -> Arc<Assembled> {
        while last.packed.is_packed() {
            let bytes = Arc::new(last.unpack());
            let before = self.assembled.compare_and_swap(&last, bytes.clone());
            if Arc::ptr_eq(&before, &last) {
                return bytes;
            }
            // Another reader unpacked or assembled it meanwhile: that one.
            last = arc_swap::Guard::into_inner(before);
        }
        last
    }

    /// Keeps the page packed (its gzip form, or Zstandard against `dictionaries`:
    /// a sixth to a quarter of its bytes) when it was not served for `idle`:
    /// the next reader unpacks it, with the same validators. A page cache of a
    /// large archive mostly holds pages read once (crawlers, shared links);
    /// packed, they give their memory back. Returns whether it packed the page.
    pub fn pack_if_unused(&self, idle: Duration, dictionaries: &Dictionaries) -> bool {
        if clock().saturating_sub(self.last_used.load(Ordering::Relaxed)) < idle.as_secs() {
            return false;
        }
        let last = self.assembled.load_full();
        if last.packed.is_packed() {
            return false;
        }
        let Some(packed) = last.pack(self, dictionaries) else { return false };
        let packed = Arc::new(packed);
        Arc::ptr_eq(&self.assembled.compare_and_swap(&last, packed), &last)
    }

    /// Whether the page is kept packed (for tests).
    pub fn is_packed(&self) -> bool {
        self.assembled.load().packed.is_packed()
    }
}

/// Seconds since this process first asked: when pages were last served.
fn clock() -> u64 {
    static START: std::sync::LazyLock<Instant> = std::sync::LazyLock::new(Instant::now);
    START.elapsed().as_secs()
}

/// The sections of each edition, kept in memory for the public pages (every
/// page not yet cached shows them: a story's breadcrumb, the menus). Dropped
/// whenever this node applies a change from the log, before the pages it
/// makes stale, so a page rendered with old sections is refused by the page
/// cache's own check.
#[derive(Debug, Default)]
pub struct SectionCache {
    entries: Mutex<HashMap<i64, Arc<Vec<newsdesk_domain::Section>>>>,
    generation: AtomicU64,
}

impl SectionCache {
    /// The sections of `edition`, if held.
    pub fn get(&self, edition: i64) -> Option<Arc<Vec<newsdesk_domain::Section>>> {
        lock(&self.entries).get(&edition).cloned()
    }

    /// The generation to pass to [`SectionCache::insert`] for what is read after now.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Keeps `sections` of `edition`, read from the database after
    /// `generation` was taken, unless the cache was dropped meanwhile.
    pub fn insert(&self, edition: i64, sections: Arc<Vec<newsdesk_domain::Section>>, generation: u64) {
        let mut entries = lock(&self.entries);
        if self.generation.load(Ordering::Acquire) == generation {
            entries.insert(edition, sections);
        }
    }

    /// Drops every edition's sections.
    pub fn clear(&self) {
        let mut entries = lock(&self.entries);
        self.generation.fetch_add(1, Ordering::AcqRel);
        entries.clear();
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The prefix of dependency keys that stand for a list of stories (home, a
/// section, a tag, a day): a page reached only through these is kept as a
/// last good rendering when dropped (see [`PageCache::last_good`]).
pub const LIST_DEP_PREFIX: &str = "list:";

/// The share of the page cache's byte budget that last good renderings may use.
const LAST_GOOD_SHARE: u64 = 8;

/// Dependency → the cached pages (by key) that depend on it, each with the
/// version of the rendering that registered it. A page's key is one `Arc`
/// shared by all its dependencies (a Persian story's address is ~200 bytes).
///
/// A dependency is held by its 64-bit hash ([`PageCache::dep_hash`], seeded at
/// random per cache), not its text: every page not yet cached registers about
/// six (the story and the stories it links to) and each is taken out again
/// when the page is evicted, so on the long tail this index is walked for
/// every page; without the text there is no key to copy, free or compare, and
/// one fewer memory read a lookup. Two dependencies whose hashes collide
/// share an entry: a change to either drops the pages of both, so a collision
/// can only cost a rendering, never keep a stale page.
type DepIndex = HashMap<u64, Registrations, foldhash::fast::RandomState>;

/// The pages registered under one dependency: one page inline (a story
/// linked from a few pages has one at a time, mostly), else a map.
#[derive(Debug)]
enum Registrations {
    One(Arc<str>, u64),
    // Boxed: the map inline would make every entry of the index twice as large.
    #[allow(clippy::box_collection)]
    Many(Box<HashMap<Arc<str>, u64, foldhash::fast::RandomState>>),
}

impl Registrations {
    /// Registers the rendering `version` of the page `key` (replacing an older one of it).
    fn add(&mut self, key: &Arc<str>, version: u64) {
        match self {
            Registrations::One(k, v) if **k == **key => *v = version,
            Registrations::One(k, v) => {
                let mut many: HashMap<Arc<str>, u64, foldhash::fast::RandomState> = HashMap::default();
                many.insert(k.clone(), *v);
                many.insert(key.clone(), version);
                *self = Registrations::Many(Box::new(many));
            }
            Registrations::Many(many) => {
                many.insert(key.clone(), version);
            }
        }
    }

    /// Takes out the registration of `key`'s rendering `version` (not a newer
    /// one of the same page); returns whether none is left.
    fn remove(&mut self, key: &str, version: u64) -> bool {
        match self {
            Registrations::One(k, v) => **k == *key && *v == version,
            Registrations::Many(many) => {
                if many.get(key) == Some(&version) {
                    many.remove(key);
                }
                many.is_empty()
            }
        }
    }

    /// The keys of the registered pages.
    fn into_keys(self) -> Vec<Arc<str>> {
        match self {
            Registrations::One(k, _) => vec![k],
            Registrations::Many(many) => many.into_keys().collect(),
        }
    }

    /// Number of registered pages.
    #[cfg(test)]
    fn len(&self) -> usize {
        match self {
            Registrations::One(..) => 1,
            Registrations::Many(many) => many.len(),
        }
    }
}

/// Pages moka has let go of, waiting to be taken out of the index.
type Evicted = Arc<Mutex<Vec<(Arc<String>, Arc<CachedPage>)>>>;

/// Rendered pages by request path, with a reverse index from dependency keys to pages.
///
/// Invariant: a page in the cache is registered in the index under each of its
/// dependencies, by the version of that rendering. Two readers may render the
/// same page at once and the second insert replaces the first; the eviction of
/// the older rendering then leaves the newer one's registration alone.
/// Inserts and invalidations take the index lock for their whole work, so an
/// invalidation is never passed by an insert; moka's eviction listener only
/// queues what it evicts (it may run inside an insert that holds the lock), and
/// the queue is applied under the lock by the next insert or invalidation.
pub struct PageCache {
    pages: moka::sync::Cache<String, Arc<CachedPage>>,
    /// The last rendering of pages dropped because a list they belong to
    /// gained a story, for when they cannot be rendered again (see
    /// [`PageCache::last_good`]). Bounded by bytes, like `pages`.
    last_good: moka::sync::Cache<String, Arc<CachedPage>>,
    index: Mutex<DepIndex>,
    /// The seed of the index's dependency hashes.
    dep_seed: foldhash::fast::RandomState,
    evicted: Evicted,
    generation: AtomicU64,
    /// The renderings under way, by key (see [`PageCache::render_turn`]).
    flights: Flights,
    /// What pages unread for a while are packed against.
    dictionaries: Dictionaries,
}

type Flights = Arc<Mutex<HashMap<String, Arc<tokio::sync::Mutex<bool>>>>>;

/// The right to render one key: while it is held, other readers of the same
/// key wait for it instead of rendering the page again (see [`PageCache::render_turn`]).
pub struct RenderTurn {
    key: String,
    lock: Arc<tokio::sync::Mutex<bool>>,
    /// Holds whether the previous turn's rendering failed.
    guard: Option<tokio::sync::OwnedMutexGuard<bool>>,
    flights: Flights,
}

impl RenderTurn {
    /// Whether the reader before this one failed to render the page (an
    /// error page, an outage): then each reader renders on its own, as one
    /// reader's failure says little about the next attempt, and waiting in
    /// turn behind failures that each take a timeout would add them up.
    pub fn previous_failed(&self) -> bool {
        self.guard.as_deref().copied().unwrap_or(false)
    }

    /// Records how this turn's rendering went, for the readers waiting after it.
    pub fn finish(mut self, ok: bool) {
        if let Some(g) = self.guard.as_mut() {
            **g = !ok;
        }
    }
}

impl Drop for RenderTurn {
    fn drop(&mut self) {
        self.guard.take();
        let Ok(mut flights) = self.flights.lock() else { return };
        // Forgotten when no one else holds or awaits it: the map's Arc and ours.
        if Arc::strong_count(&self.lock) <= 2 && flights.get(&self.key).is_some_and(|l| Arc::ptr_eq(l, &self.lock)) {
            flights.remove(&self.key);
        }
    }
}

impl PageCache {
    /// A cache holding at most about `max_bytes` of pages.
    pub fn new(max_bytes: u64) -> PageCache {
        let evicted: Evicted = Arc::default();
        let queue = evicted.clone();
        let pages = moka::sync::Cache::builder()
            .max_capacity(max_bytes)
            .weigher(|_k: &String, v: &Arc<CachedPage>| v.weight())
            .eviction_listener(move |key: Arc<String>, page: Arc<CachedPage>, cause| {
                crate::metrics::page_cache_evicted(cause);
                if let Ok(mut q) = queue.lock() {
                    q.push((key, page));
                }
            })
            .build();
        let last_good = moka::sync::Cache::builder()
            .max_capacity(max_bytes / LAST_GOOD_SHARE)
            .weigher(|_k: &String, v: &Arc<CachedPage>| v.weight())
            .build();
        PageCache {
            pages,
            last_good,
            index: Mutex::default(),
            dep_seed: foldhash::fast::RandomState::default(),
            evicted,
            generation: AtomicU64::new(0),
            flights: Arc::default(),
            dictionaries: Dictionaries::default(),
        }
    }

    /// Waits for the turn to render `key`: one rendering of a page at a time
    /// on this node. When a publish drops a busy page (the home page, a feed),
    /// the readers that miss it at once would otherwise all render it, on every
    /// node, and the CPU they share makes each of them slow. The caller looks
    /// in the cache again once it has the turn: the reader before it has
    /// usually cached the page (unless an invalidation refused it, and then
    /// this reader renders the fresh one).
    pub async fn render_turn(&self, key: &str) -> RenderTurn {
        let lock = match self.flights.lock() {
            Ok(mut flights) => flights.entry(key.to_string()).or_default().clone(),
            Err(_) => Arc::default(),
        };
        let guard = lock.clone().lock_owned().await;
        RenderTurn { key: key.to_string(), lock, guard: Some(guard), flights: self.flights.clone() }
    }

    /// Number of keys being rendered or awaited: readers are waiting for
    /// pages being made (a search index rebuild waits for them).
    pub fn renders_in_flight(&self) -> usize {
        self.flights.lock().map(|f| f.len()).unwrap_or(0)
    }

    /// Takes evicted renderings out of the index (only their own registrations).
    fn unregister_evicted(&self, index: &mut DepIndex) {
        let evicted = match self.evicted.lock() {
            Ok(mut q) => std::mem::take(&mut *q),
            Err(_) => return,
        };
        for (key, page) in evicted {
            for dep in &page.deps {
                let dep = self.dep_hash(dep);
                if index.get_mut(&dep).is_some_and(|pages| pages.remove(&key, page.version)) {
                    index.remove(&dep);
                }
            }
        }
    }

    /// Where `dep` is held in the index (see [`DepIndex`]).
    fn dep_hash(&self, dep: &str) -> u64 {
        std::hash::BuildHasher::hash_one(&self.dep_seed, dep)
    }

    /// The page cached for `key`.
    pub fn get(&self, key: &str) -> Option<Arc<CachedPage>> {
        self.pages.get(key)
    }

    /// A token to take before reading what a page shows; [`PageCache::insert`]
    /// refuses the page if anything was invalidated since, as it may be stale.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Caches `page` under `key` unless an invalidation happened since `generation`.
    pub fn insert(&self, key: String, page: Arc<CachedPage>, generation: u64) -> bool {
        let Ok(mut index) = self.index.lock() else { return false };
        self.unregister_evicted(&mut index);
        if self.generation.load(Ordering::Acquire) != generation {
            return false;
        }
        let shared: Arc<str> = Arc::from(key.as_str());
        for dep in &page.deps {
            match index.entry(self.dep_hash(dep)) {
                std::collections::hash_map::Entry::Occupied(mut pages) => pages.get_mut().add(&shared, page.version),
                std::collections::hash_map::Entry::Vacant(place) => {
                    place.insert(Registrations::One(shared.clone(), page.version));
                }
            }
        }
        self.pages.insert(key, page);
        true
    }

    /// Drops every page that depends on any of `deps`.
    pub fn invalidate(&self, deps: &[String]) {
        let Ok(mut index) = self.index.lock() else { return };
        self.unregister_evicted(&mut index);
        self.generation.fetch_add(1, Ordering::AcqRel);
        let keys: Vec<Arc<str>> =
            deps.iter().filter_map(|d| index.remove(&self.dep_hash(d))).flat_map(Registrations::into_keys).collect();
        self.keep_last_good(deps, &keys);
        for k in keys {
            self.pages.invalidate(&*k);
        }
    }

    /// Packs the pages (and the last good renderings) not served for `idle`
    /// ([`CachedPage::pack_if_unused`]); returns how many it packed.
    pub fn pack_cold(&self, idle: Duration) -> usize {
        let mut packed = 0;
        for (_, page) in self.pages.iter().chain(self.last_good.iter()) {
            if page.pack_if_unused(idle, &self.dictionaries) {
                packed += 1;
            }
        }
        packed
    }

    /// Drops everything.
    pub fn clear(&self) {
        let Ok(mut index) = self.index.lock() else { return };
        self.generation.fetch_add(1, Ordering::AcqRel);
        index.clear();
        self.pages.invalidate_all();
        // A site-wide change may remove what old renderings show (a comment, a section).
        self.last_good.invalidate_all();
        // Queued evictions name registrations the cleared index no longer holds.
        if let Ok(mut q) = self.evicted.lock() {
            q.clear();
        }
    }

    /// Keeps the current rendering of the pages `keys` that are about to be
    /// dropped for `deps`, when only list dependencies reach them: such a page
    /// does not show a changed story, so its old rendering only misses what
    /// was added since. A page showing a changed story (it may have been
    /// corrected, unpublished or killed) is not kept, and kept renderings that
    /// show it are dropped.
    fn keep_last_good(&self, deps: &[String], keys: &[Arc<str>]) {
        let changed: Vec<&String> = deps.iter().filter(|d| !d.starts_with(LIST_DEP_PREFIX)).collect();
        let shows_changed = |page: &CachedPage| page.deps.iter().any(|d| changed.contains(&d));
        if !changed.is_empty() {
            let stale: Vec<Arc<String>> =
                self.last_good.iter().filter(|(_, page)| shows_changed(page)).map(|(k, _)| k).collect();
            for k in stale {
                self.last_good.invalidate(k.as_str());
            }
        }
        for k in keys {
            match self.pages.get(&**k) {
                Some(page) if !shows_changed(&page) => self.last_good.insert(k.to_string(), page),
                _ => self.last_good.invalidate(&**k),
            }
        }
    }

    /// The last good rendering of `key`, dropped from the cache because a list
    /// it shows gained a story: served when the page cannot be rendered now
    /// (the database is unavailable) instead of an error.
    pub fn last_good(&self, key: &str) -> Option<Arc<CachedPage>> {
        self.pages.get(key).or_else(|| self.last_good.get(key))
    }

    /// Number of cached pages (approximate, for metrics and tests).
    pub fn len(&self) -> u64 {
        self.pages.run_pending_tasks();
        self.pages.entry_count()
    }

    /// Size of the cached pages in bytes (approximate, for metrics).
    pub fn bytes(&self) -> u64 {
        self.pages.weighted_size()
    }

    /// Whether the cache holds no page.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn readers_missing_the_same_page_render_it_once() {
        let cache = Arc::new(PageCache::new(1 << 20));
        let renders = Arc::new(AtomicU64::new(0));
        let busy = Arc::new(AtomicU64::new(0));
        let mut tasks = Vec::new();
        for _ in 0..16 {
            let (cache, renders, busy) = (cache.clone(), renders.clone(), busy.clone());
            tasks.push(tokio::spawn(async move {
                if cache.get("/").is_some() {
                    return;
                }
                let _turn = cache.render_turn("/").await;
                if cache.get("/").is_some() {
                    return;
                }
                assert_eq!(busy.fetch_add(1, Ordering::SeqCst), 0, "two renderings of one key at once");
                renders.fetch_add(1, Ordering::SeqCst);
                let generation = cache.generation();
                tokio::time::sleep(Duration::from_millis(30)).await;
                let page =
                    CachedPage::document("<p>home</p>".into(), "text/html", "no-cache", None, vec!["list:home".into()]);
                busy.fetch_sub(1, Ordering::SeqCst);
                cache.insert("/".into(), Arc::new(page), generation);
            }));
        }
        for t in tasks {
            t.await.expect("task");
        }
        assert_eq!(renders.load(Ordering::SeqCst), 1, "one rendering for sixteen readers");
        assert_eq!(cache.renders_in_flight(), 0, "the turns are forgotten");
        // Another key is not held up by a rendering of the first.
        let _first = cache.render_turn("/a").await;
        let second = tokio::time::timeout(Duration::from_secs(1), cache.render_turn("/b")).await;
        assert!(second.is_ok(), "keys render independently");
    }

    fn page(deps: &[&str]) -> Arc<CachedPage> {
        Arc::new(CachedPage::new("<p>x</p>", "public", None, deps.iter().map(|d| d.to_string()).collect()))
    }

    #[test]
    fn every_marker_is_found_in_one_pass_whatever_its_order_and_look_alikes_stay() {
        let html = format!(
            "<!--nd:slot:{}a<!--nd:slot:{}{}b<!--nd:slot:unknown-->{}{}c<!--nd:slot:",
            Slot::Breaking.marker(),
            Slot::MostVisited.marker(),
            Slot::Latest.marker(),
            Slot::UpdatedIn.marker(),
            Slot::Latest.marker(),
        );
        let l = Layout::parse(&html);
        assert_eq!(&l.bytes[..], b"<!--nd:slot:a<!--nd:slot:b<!--nd:slot:unknown-->c<!--nd:slot:");
        let at: Vec<(Slot, usize)> = l.slots.iter().map(|(s, r)| (*s, r.start)).collect();
        assert_eq!(
            at,
            [
                (Slot::Breaking, 12),
                (Slot::MostVisited, 25),
                (Slot::Latest, 25),
                (Slot::UpdatedIn, 48),
                (Slot::Latest, 48)
            ]
        );
        assert!(Layout::parse("").slots.is_empty());
    }

    #[test]
    fn slots_are_split_and_filled() {
        let p = CachedPage::new(
            &format!("a{}b{}c", Slot::UpdatedIn.marker(), Slot::Latest.marker()),
            "public",
            None,
            vec![],
        );
        let chrome = Chrome {
            version: 7,
            updated_in: "U".into(),
            latest: "L".into(),
            most_visited: String::new(),
            updated_at: None,
            breaking: String::new(),
            breaking_until: None,
        };
        assert_eq!(&p.assemble(&chrome).identity[..], b"aUbLc");
        let again = p.assemble(&chrome);
        assert!(Arc::ptr_eq(&again, &p.assemble(&chrome)));
        let newer = Chrome {
            version: 8,
            updated_in: "V".into(),
            latest: "".into(),
            most_visited: String::new(),
            updated_at: None,
            breaking: String::new(),
            breaking_until: None,
        };
        assert_eq!(&p.assemble(&newer).identity[..], b"aVbc");
        // Each version is filled in from the last one's bytes: fragments of
        // other lengths, an empty one, and back.
        let longer = Chrome {
            version: 9,
            updated_in: "WWW".into(),
            latest: "MM".into(),
            most_visited: String::new(),
            updated_at: None,
            breaking: String::new(),
            breaking_until: None,
        };
        assert_eq!(&p.assemble(&longer).identity[..], b"aWWWbMMc");
        assert_eq!(&p.assemble(&chrome).identity[..], b"aUbLc");
        let marker_text = Chrome { version: 10, updated_in: Slot::Latest.marker().into(), ..longer };
        assert_eq!(
            String::from_utf8_lossy(&p.assemble(&marker_text).identity),
            format!("a{}bMMc", Slot::Latest.marker()),
            "a fragment is never taken for a slot"
        );
        assert_eq!(&p.assemble(&chrome).identity[..], b"aUbLc");
    }

    /// Sections read before the cache was dropped are not kept: a reader
    /// racing an applied change would otherwise keep the old ones for good.
    #[test]
    fn sections_read_before_a_drop_are_not_kept() {
        let cache = SectionCache::default();
        let before = cache.generation();
        cache.clear();
        cache.insert(1, Arc::new(Vec::new()), before);
        assert!(cache.get(1).is_none(), "read before the drop");
        cache.insert(1, Arc::new(Vec::new()), cache.generation());
        assert!(cache.get(1).is_some(), "read after it");
        cache.clear();
        assert!(cache.get(1).is_none());
    }

    /// A cached page costs one copy of its bytes (and room for its fragments
    /// and compressed forms), not one for its parts and one assembled.
    #[test]
    fn a_cached_page_weighs_about_one_copy_of_its_bytes() {
        let html = format!("{}{}{}", "x".repeat(60_000), Slot::Latest.marker(), "y".repeat(40_000));
        let cache = PageCache::new(64 << 20);
        assert!(cache.insert(
            "/p".into(),
            Arc::new(CachedPage::new(&html, "public", None, vec![])),
            cache.generation()
        ));
        cache.pages.run_pending_tasks();
        let weight = cache.bytes();
        assert!((100_000..=160_000).contains(&weight), "{weight}");
    }

    #[test]
    fn invalidation_drops_only_dependent_pages() {
        let cache = PageCache::new(1 << 20);
        let g = cache.generation();
        assert!(cache.insert("/a".into(), page(&["story:1", "list:edition:1"]), g));
        assert!(cache.insert("/b".into(), page(&["story:2"]), g));
        cache.invalidate(&["story:1".into()]);
        assert!(cache.get("/a").is_none());
        assert!(cache.get("/b").is_some());
    }

    /// Two readers render the same page at once: the second insert replaces the
    /// first, and the page must still be dropped by the next invalidation.
    #[test]
    fn a_page_rendered_twice_at_once_is_still_invalidated() {
        let cache = PageCache::new(1 << 20);
        for round in 0..200 {
            let g = cache.generation();
            std::thread::scope(|s| {
                for _ in 0..8 {
                    s.spawn(|| cache.insert("/".into(), page(&["list:edition:1"]), g));
                }
            });
            cache.pages.run_pending_tasks();
            assert!(cache.get("/").is_some(), "round {round}: cached");
            cache.invalidate(&["list:edition:1".into()]);
            assert!(cache.get("/").is_none(), "round {round}: the home page stayed after a publish");
        }
    }

    /// Readers insert while a writer invalidates: whatever interleaving, no page
    /// rendered before an invalidation survives it.
    #[test]
    fn concurrent_renders_never_outlive_an_invalidation() {
        let cache = Arc::new(PageCache::new(1 << 20));
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let readers: Vec<_> = (0..4)
            .map(|_| {
                let (cache, stop) = (cache.clone(), stop.clone());
                std::thread::spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        let g = cache.generation();
                        cache.insert("/".into(), page(&["list:edition:1"]), g);
                    }
                })
            })
            .collect();
        for round in 0..2000 {
            // What a writer does on publish: invalidate, then check that no
            // rendering from before the invalidation is served.
            let before = next_version();
            cache.invalidate(&["list:edition:1".into()]);
            if let Some(p) = cache.get("/") {
                assert!(p.version > before, "round {round}: a page rendered before the publish is served");
            }
        }
        stop.store(true, Ordering::Relaxed);
        for r in readers {
            r.join().expect("reader");
        }
        cache.invalidate(&["list:edition:1".into()]);
        cache.pages.run_pending_tasks();
        assert!(cache.get("/").is_none());
    }

    #[test]
    fn a_page_rendered_across_an_invalidation_is_not_cached() {
        let cache = PageCache::new(1 << 20);
        let g = cache.generation();
        cache.invalidate(&["story:9".into()]);
        assert!(!cache.insert("/a".into(), page(&["story:1"]), g));
        assert!(cache.get("/a").is_none());
    }

    #[test]
    fn cache_stays_within_its_byte_budget() {
        let cache = PageCache::new(64 * 1024);
        let big = "x".repeat(8 * 1024);
        for i in 0..100 {
            let g = cache.generation();
            cache.insert(
                format!("/p{i}"),
                Arc::new(CachedPage::new(&big, "public", None, vec![format!("story:{i}")])),
                g,
            );
        }
        cache.pages.run_pending_tasks();
        assert!(cache.pages.weighted_size() <= 64 * 1024, "{}", cache.pages.weighted_size());
        cache.insert("/last".into(), page(&[]), cache.generation());
        cache.pages.run_pending_tasks();
        // Evicted pages leave the index: what is registered is what is cached
        // (or queued as evicted since the last insert).
        let index = cache.index.lock().expect("the index");
        let queued = cache.evicted.lock().expect("the queue").len();
        let registered: usize = index.values().map(Registrations::len).sum();
        assert!(registered <= cache.pages.entry_count() as usize + queued, "{registered} registered");
        assert!((1..100).contains(&registered), "{registered} registered");
    }

    /// Several renderings of one page and several pages under one dependency:
    /// each eviction takes out only its own registration.
    #[test]
    fn the_index_takes_out_only_the_evicted_rendering() {
        let cache = PageCache::new(1 << 20);
        let key: Arc<str> = Arc::from("/a");
        let mut pages = Registrations::One(key.clone(), 1);
        pages.add(&key, 2);
        assert!(!pages.remove("/a", 1), "an older rendering's eviction leaves the newer one");
        assert_eq!(pages.len(), 1);
        pages.add(&Arc::from("/b"), 3);
        pages.add(&Arc::from("/c"), 4);
        assert_eq!(pages.len(), 3);
        assert!(!pages.remove("/b", 3));
        assert!(!pages.remove("/c", 5), "not its version");
        assert!(!pages.remove("/a", 2));
        assert!(pages.remove("/c", 4), "none left");
        // Through the cache: a dependency shared by two pages, one of them
        // rendered again (its first rendering's removal is queued, then applied).
        cache.insert("/x".into(), page(&["story:1", "story:2"]), cache.generation());
        cache.insert("/y".into(), page(&["story:1"]), cache.generation());
        cache.insert("/x".into(), page(&["story:1", "story:2"]), cache.generation());
        cache.pages.run_pending_tasks();
        cache.insert("/z".into(), page(&["story:9"]), cache.generation());
        cache.invalidate(&["story:1".into()]);
        cache.pages.run_pending_tasks();
        assert!(cache.get("/x").is_none() && cache.get("/y").is_none());
        assert!(cache.get("/z").is_some());
    }

    /// A page dropped because its list gained a story keeps its last rendering
    /// (for an outage); one showing a changed story does not, and a kept one
    /// showing a story that changes later is dropped too.
    #[test]
    fn last_good_renderings_are_kept_only_for_pages_that_show_no_changed_story() {
        let cache = PageCache::new(1 << 20);
        let g = cache.generation();
        assert!(cache.insert("/".into(), page(&["story:1", "list:edition:1"]), g));
        assert!(cache.insert("/news/1/a".into(), page(&["story:1"]), g));
        // Story 2 is published: the home page only misses it.
        cache.invalidate(&["story:2".into(), "list:edition:1".into()]);
        assert!(cache.get("/").is_none());
        assert!(cache.last_good("/").is_some(), "the home page's last rendering is kept");
        // Story 1 (on the home page) is killed: neither page may be served again.
        cache.invalidate(&["story:1".into()]);
        assert!(cache.last_good("/").is_none(), "a kept rendering showing a killed story is dropped");
        assert!(cache.last_good("/news/1/a").is_none());
        // A page showing the changed story itself is not kept.
        let g = cache.generation();
        assert!(cache.insert("/section/x".into(), page(&["story:3", "list:section:1:x"]), g));
        cache.invalidate(&["story:3".into(), "list:section:1:x".into()]);
        assert!(cache.last_good("/section/x").is_none());
        // A site-wide change drops everything kept.
        let g = cache.generation();
        assert!(cache.insert("/".into(), page(&["list:edition:1"]), g));
        cache.invalidate(&["story:4".into(), "list:edition:1".into()]);
        assert!(cache.last_good("/").is_some());
        cache.clear();
        assert!(cache.last_good("/").is_none());
    }

    fn chrome(version: u64) -> Arc<Chrome> {
        Arc::new(Chrome {
            version,
            updated_in: String::new(),
            latest: String::new(),
            most_visited: String::new(),
            updated_at: None,
            breaking: String::new(),
            breaking_until: None,
        })
    }

    /// A document without slots keeps its ETag when the fragments are rebuilt.
    #[test]
    fn a_document_without_slots_keeps_its_etag_across_fragment_rebuilds() {
        let p = page(&["feed"]);
        assert_eq!(p.assemble(&chrome(7)).etag, p.assemble(&chrome(8)).etag);
    }

    /// A document rendered again with the same bytes (after a change that did
    /// not touch it, or on another node) keeps its ETag; other bytes change it.
    #[test]
    fn a_document_s_etag_follows_its_bytes_not_its_rendering() {
        let doc = |body: &str| {
            CachedPage::document(body.into(), "application/rss+xml", "public", None, Vec::new()).assemble(&chrome(3))
        };
        let (a, b, c) = (doc("<rss>one</rss>"), doc("<rss>one</rss>"), doc("<rss>two</rss>"));
        assert_eq!(a.etag, b.etag);
        assert_ne!(a.etag, c.etag);
        // Pages with slots are told apart by their rendering.
        let html = format!("a{}b", Slot::Latest.marker());
        let (p, q) = (CachedPage::new(&html, "public", None, vec![]), CachedPage::new(&html, "public", None, vec![]));
        assert_ne!(p.assemble(&chrome(3)).etag, q.assemble(&chrome(3)).etag);
    }

    /// Expired fragments are handed to one caller to rebuild and kept for the
    /// others; a change drops them.
    #[test]
    fn expired_fragments_are_kept_until_rebuilt_and_changes_drop_them() {
        let cache = ChromeCache::new();
        assert!(matches!(cache.lookup(1), ChromeLookup::Missing));
        cache.insert(1, chrome(7));
        assert!(matches!(cache.lookup(1), ChromeLookup::Fresh(c) if c.version == 7));
        if let Ok(mut entries) = cache.entries.lock()
            && let Some(e) = entries.get_mut(&1)
        {
            e.fresh_until = Instant::now();
        }
        assert!(matches!(cache.lookup(1), ChromeLookup::Expired(c) if c.version == 7), "one caller rebuilds");
        assert!(matches!(cache.lookup(1), ChromeLookup::Fresh(c) if c.version == 7), "the others serve the old ones");
        cache.insert(1, chrome(8));
        assert!(matches!(cache.lookup(1), ChromeLookup::Fresh(c) if c.version == 8));
        cache.invalidate(&1);
        assert!(matches!(cache.lookup(1), ChromeLookup::Missing), "a change drops them");
        cache.keep_while_unavailable(1, chrome(9));
        assert!(matches!(cache.lookup(1), ChromeLookup::Fresh(c) if c.version == 9));
    }

    #[test]
    fn compressed_forms_decompress_to_the_page() {
        use std::io::Read;
        let p = CachedPage::new(&"hello news ".repeat(100), "public", None, vec![]);
        let a = p.assemble(&Chrome {
            version: 1,
            updated_in: String::new(),
            latest: String::new(),
            most_visited: String::new(),
            updated_at: None,
            breaking: String::new(),
            breaking_until: None,
        });
        let mut out = String::new();
        flate2::read::GzDecoder::new(&a.gzip()[..]).read_to_string(&mut out).expect("gzip");
        assert_eq!(out.as_bytes(), &a.identity[..]);
        let mut out = Vec::new();
        brotli::Decompressor::new(&a.brotli()[..], 4096).read_to_end(&mut out).expect("brotli");
        assert_eq!(&out[..], &a.identity[..]);
    }

    fn chrome_of(version: u64, updated_in: &str, latest: &str) -> Chrome {
        Chrome {
            version,
            updated_in: updated_in.into(),
            latest: latest.into(),
            most_visited: String::new(),
            updated_at: None,
            breaking: String::new(),
            breaking_until: None,
        }
    }

    /// A page unread for a while is kept packed (Zstandard, or its gzip form once
    /// a reader asked for that); served again it has the same bytes and
    /// validators, for this chrome and the next.
    #[test]
    fn a_page_unread_for_a_while_is_packed_and_served_again_unchanged() {
        let html = format!("<p>{}</p>{}<p>end</p>", "a story page ".repeat(200), Slot::Latest.marker());
        let p = CachedPage::new(&html, "public", None, vec![]);
        let dicts = Dictionaries::default();
        let c5 = chrome_of(5, "", "<ul>latest</ul>");
        let served = p.assemble(&c5);
        let (bytes, etag) = (served.identity.clone(), served.etag.clone());
        assert!(!p.pack_if_unused(Duration::from_secs(3600), &dicts), "just served: kept as it is");
        assert!(p.pack_if_unused(Duration::ZERO, &dicts));
        assert!(p.is_packed() && p.assembled.load().identity.is_empty(), "the bytes let go");
        assert!(
            matches!(&p.assembled.load().packed, Packed::Zstd { bytes: b, .. } if b.len() < bytes.len() / 3),
            "no gzip form was asked for: Zstandard"
        );
        assert!(!p.pack_if_unused(Duration::ZERO, &dicts), "packed once");
        // Readers holding the assembly from before the packing still have its bytes.
        assert_eq!(served.identity, bytes);
        let again = p.assemble(&c5);
        assert!(!p.is_packed());
        assert_eq!((&again.identity, &again.etag), (&bytes, &etag), "the same bytes and ETag");
        // Once a reader asked for the gzip form, the page is packed as that (nothing compressed again).
        let gzip = again.gzip().clone();
        assert!(p.pack_if_unused(Duration::ZERO, &dicts));
        assert!(matches!(p.assembled.load().packed, Packed::Gzip));
        assert!(p.assembled.load().gzip() == &gzip);
        let again = p.assemble(&c5);
        assert_eq!((&again.identity, &again.etag, again.gzip()), (&bytes, &etag, &gzip));
        // Packed, then the fragments change: filled in from the unpacked bytes.
        assert!(p.pack_if_unused(Duration::ZERO, &dicts));
        let c6 = chrome_of(6, "", "<ul>newer</ul>");
        let newer = p.assemble(&c6);
        assert_eq!(String::from_utf8_lossy(&newer.identity), html.replace(Slot::Latest.marker(), "<ul>newer</ul>"));
        // A document without slots keeps its ETag through a packing.
        let doc = page(&["feed"]);
        let before = doc.assemble(&chrome(7)).etag.clone();
        assert!(doc.pack_if_unused(Duration::ZERO, &dicts));
        assert_eq!(doc.assemble(&chrome(8)).etag, before);
        assert_eq!(&doc.assemble(&chrome(8)).identity[..], b"<p>x</p>");
    }

    /// Pages of a kind (an edition's story pages, say) are packed against the
    /// first of them: what they share is not kept again, each unpacks to its
    /// own bytes, and a page of another kind has a dictionary of its own.
    #[test]
    fn pages_of_a_kind_are_packed_against_the_first_of_them() {
        let html = |story: &str| {
            format!(
                "<header>{}</header><main>{story}</main><footer>{}</footer>{}",
                (0..200).map(|i| format!("<a href=\"/section/{i}\">Section {i}</a>")).collect::<String>(),
                (0..100).map(|i| format!("<a href=\"/page/{i}\">Footer {i}</a>")).collect::<String>(),
                Slot::Latest.marker()
            )
        };
        let story = |text: &str, edition| {
            let mut p = CachedPage::new(&html(text), "public", None, vec![]);
            p.view = Some((1, edition, 1));
            p
        };
        let pages = [
            story("the first story", 1),
            story("another story, told in other words", 1),
            story("خبری دیگر، به زبانی دیگر", 2),
        ];
        let c = chrome_of(1, "", "<ul>latest</ul>");
        let bytes: Vec<Bytes> = pages.iter().map(|p| p.assemble(&c).identity.clone()).collect();
        let dicts = Dictionaries::default();
        for p in &pages {
            assert!(p.pack_if_unused(Duration::ZERO, &dicts));
        }
        let packed: Vec<(usize, Arc<Dictionary>)> = pages
            .iter()
            .map(|p| match &p.assembled.load().packed {
                Packed::Zstd { bytes, dictionary, .. } => (bytes.len(), dictionary.clone()),
                other => panic!("packed as {other:?}"),
            })
            .collect();
        assert_eq!(packed[0].1.raw, bytes[0], "the first of its kind is the dictionary");
        assert!(Arc::ptr_eq(&packed[1].1, &packed[0].1), "the same edition's story pages share one");
        assert_eq!(packed[2].1.raw, bytes[2], "another edition's pages have their own");
        let alone = zstd::bulk::compress(&bytes[1], ZSTD_LEVEL).expect("zstd").len();
        assert!(packed[1].0 * 4 < alone, "{} bytes against the dictionary, {alone} alone", packed[1].0);
        for (p, b) in pages.iter().zip(&bytes) {
            assert_eq!(&p.assemble(&c).identity, b, "unpacked to its own bytes");
        }
    }

    /// A large document (a month's sitemap) first of its kind gives only its
    /// start to the dictionary, a copy: the dictionaries stay small, and
    /// the pages packed against it, large or small, unpack to their bytes.
    #[test]
    fn a_large_page_gives_only_its_start_to_the_dictionary() {
        let sitemap = |from: usize| {
            let urls: String = (from..from + 40_000)
                .map(|n| {
                    format!(
                        "<url><loc>https://example.org/news/{n}/a-story-{n}</loc><lastmod>2026-12-07</lastmod></url>"
                    )
                })
                .collect();
            CachedPage::document(
                format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?><urlset>{urls}</urlset>"),
                "application/xml",
                "public",
                None,
                vec![],
            )
        };
        let (first, second) = (sitemap(0), sitemap(500_000));
        let small = CachedPage::document(
            "<urlset><url><loc>/</loc></url></urlset>".into(),
            "application/xml",
            "public",
            None,
            vec![],
        );
        let c = chrome(1);
        let bytes: Vec<Bytes> = [&first, &second, &small].iter().map(|p| p.assemble(&c).identity.clone()).collect();
        assert!(bytes[0].len() > 40 * DICTIONARY_MAX, "{} bytes", bytes[0].len());
        let dicts = Dictionaries::default();
        for p in [&first, &second, &small] {
            assert!(p.pack_if_unused(Duration::ZERO, &dicts));
        }
        let Packed::Zstd { dictionary, bytes: packed, .. } = &first.assembled.load().packed else { panic!("not zstd") };
        assert_eq!(dictionary.raw.len(), DICTIONARY_MAX);
        assert_eq!(dictionary.raw, bytes[0].slice(..DICTIONARY_MAX), "the page's start");
        assert_ne!(dictionary.raw.as_ptr(), bytes[0].as_ptr(), "a copy: the page's bytes are not held");
        assert!(packed.len() * 8 < bytes[0].len(), "packed to {} of {} bytes", packed.len(), bytes[0].len());
        for (p, b) in [&first, &second, &small].iter().zip(&bytes) {
            assert!(p.is_packed());
            assert_eq!(&p.assemble(&c).identity, b, "unpacked to its own bytes");
        }
    }

    /// Readers serving a page while it is packed and unpacked over and over
    /// always get its whole bytes.
    #[test]
    fn readers_of_a_page_being_packed_always_get_its_bytes() {
        let html = format!("<p>{}</p>{}", "the page ".repeat(500), Slot::UpdatedIn.marker());
        let p = Arc::new(CachedPage::new(&html, "public", None, vec![]));
        let dicts = Dictionaries::default();
        let c = Arc::new(chrome_of(3, "Updated", ""));
        let expected = p.assemble(&c).identity.clone();
        let etag = p.assemble(&c).etag.clone();
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let readers: Vec<_> = (0..4)
            .map(|_| {
                let (p, c, expected, etag, stop) = (p.clone(), c.clone(), expected.clone(), etag.clone(), stop.clone());
                std::thread::spawn(move || {
                    let mut reads = 0u64;
                    while !stop.load(Ordering::Relaxed) || reads == 0 {
                        let a = p.assemble(&c);
                        assert_eq!(a.identity, expected, "a reader got other bytes");
                        assert_eq!(a.etag, etag);
                        reads += 1;
                    }
                    reads
                })
            })
            .collect();
        let mut packs = 0;
        for _ in 0..2000 {
            if p.pack_if_unused(Duration::ZERO, &dicts) {
                packs += 1;
            }
            std::thread::yield_now();
        }
        stop.store(true, Ordering::Relaxed);
        let reads: u64 = readers.into_iter().map(|r| r.join().expect("reader")).sum();
        assert!(packs > 0 && reads > 0, "{packs} packings, {reads} reads");
    }

    /// The cache packs its pages and its last good renderings unread for the given while.
    #[test]
    fn the_cache_packs_what_went_unread() {
        let cache = PageCache::new(1 << 20);
        let g = cache.generation();
        assert!(cache.insert("/a".into(), page(&["story:1"]), g));
        assert!(cache.insert("/".into(), page(&["list:edition:1"]), g));
        cache.invalidate(&["list:edition:1".into()]);
        assert!(cache.last_good("/").is_some(), "kept as the last good rendering");
        assert_eq!(cache.pack_cold(Duration::from_secs(3600)), 0, "nothing unread that long");
        assert_eq!(cache.pack_cold(Duration::ZERO), 2, "the page and the last good rendering");
        assert!(cache.get("/a").is_some_and(|p| p.is_packed()));
        assert!(cache.last_good("/").is_some_and(|p| p.is_packed()));
        assert_eq!(cache.pack_cold(Duration::ZERO), 0, "each once");
        // Still dropped by what it depends on.
        cache.invalidate(&["story:1".into()]);
        assert!(cache.get("/a").is_none());
    }
}
