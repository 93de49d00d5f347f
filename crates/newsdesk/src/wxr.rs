//! `newsdesk import wxr`: a WordPress export into an edition. The domain reads
//! and plans it ([`newsdesk_domain::wxr`]); here the attachments' files are
//! looked for under `--media-dir` (a copy of `wp-content/uploads`: nothing is
//! ever fetched from the internet), and the plan is stored: sections, photos,
//! stories with their comments, and the old addresses' redirects. A second run
//! of the same file updates what changed and adds nothing twice. The report
//! ends the output: one line per thing skipped (or changed) with its reason,
//! then the totals.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use anyhow::{Context, anyhow};
use newsdesk_domain::BodyFormat;
use newsdesk_domain::slug::slugify;
use newsdesk_domain::wxr::body::{media_key, upload_path};
use newsdesk_domain::wxr::plan::{self, Plan};
use newsdesk_domain::wxr::{self, Export};
use newsdesk_storage::{ImportedComment, SaveOutcome, SectionRef, Store, StoryInput};

use crate::config::Config;

/// Largest file read from the media folder.
const MAX_FILE_BYTES: u64 = 64 * 1024 * 1024;

/// Totals of one run, for the report.
#[derive(Debug, Default)]
struct Totals {
    stories: BTreeMap<&'static str, usize>,
    created: usize,
    updated: usize,
    unchanged: usize,
    sections: usize,
    tags: BTreeSet<String>,
    bylines: BTreeSet<String>,
    photos: usize,
    photos_new: usize,
    attachments: usize,
    comments: BTreeMap<&'static str, usize>,
    comments_new: usize,
    comments_kept: usize,
    redirects: usize,
}

/// Reads `file`, refusing a malformed one with `file:line: reason`.
fn read_export(file: &Path) -> anyhow::Result<Export> {
    let bytes = std::fs::read(file).with_context(|| format!("{}: cannot read", file.display()))?;
    wxr::parse(&bytes).map_err(|e| anyhow!("{}:{}: {}", file.display(), e.line, e.reason))
}

/// The media folder, checked: a directory, given as its real path.
fn media_root(dir: Option<&Path>) -> anyhow::Result<Option<PathBuf>> {
    let Some(dir) = dir else { return Ok(None) };
    let real = dir.canonicalize().with_context(|| format!("--media-dir {}: cannot open", dir.display()))?;
    if !real.is_dir() {
        return Err(anyhow!("--media-dir {}: not a directory", dir.display()));
    }
    Ok(Some(real))
}

/// The bytes of the file `url` names under `root`, or why there are none.
fn read_upload(root: Option<&Path>, url: &str) -> Result<Vec<u8>, String> {
    let Some(root) = root else {
        return Err("no --media-dir given (files are never fetched from the internet)".into());
    };
    let Some(rel) = upload_path(url) else {
        return Err("not a file of the old site's uploads (files are never fetched from the internet)".into());
    };
    let path = root.join(&rel);
    let real = path.canonicalize().map_err(|_| format!("{rel} not found under --media-dir"))?;
    if !real.starts_with(root) {
        return Err(format!("{rel} leads outside --media-dir"));
    }
    let meta = std::fs::metadata(&real).map_err(|e| format!("{rel}: {e}"))?;
    if !meta.is_file() {
        return Err(format!("{rel} is not a file"));
    }
    if meta.len() > MAX_FILE_BYTES {
        return Err(format!("{rel} is larger than {} MB", MAX_FILE_BYTES / 1024 / 1024));
    }
    std::fs::read(&real).map_err(|e| format!("{rel}: {e}"))
}

/// Looks for every image file the export names and stores the photos found.
/// Returns, per [`media_key`], the photo's path or why there is none, and the photo ids.
async fn store_media(
    store: &Store,
    source: &str,
    export: &Export,
    root: Option<&Path>,
    totals: &mut Totals,
    skipped: &mut Vec<String>,
) -> anyhow::Result<(HashMap<String, Result<String, String>>, HashMap<String, i64>)> {
    let attachments: HashMap<String, plan::PhotoPlan> =
        plan::photos(export).into_iter().map(|p| (media_key(&p.url), p)).collect();
    totals.attachments = attachments.len();
    let mut paths = HashMap::new();
    let mut ids = HashMap::new();
    for url in plan::wanted_files(export) {
        let key = media_key(&url);
        let attachment = attachments.get(&key);
        let result = match read_upload(root, &url) {
            Ok(bytes) => match newsdesk_web::media::inspect(&bytes, newsdesk_web::media::DEFAULT_MAX_PIXELS) {
                Ok(inspected) => {
                    let caption = attachment.map(|a| a.caption.as_str()).unwrap_or_default();
                    let photo = inspected.to_photo(caption, "");
                    let external = attachment.map_or_else(|| format!("url:{key}"), |a| a.post_id.to_string());
                    let (stored, new) = store.import_photo(source, &external, &photo).await?;
                    totals.photos += 1;
                    totals.photos_new += usize::from(new);
                    ids.insert(key.clone(), stored.id);
                    Ok(stored.path())
                }
                Err(e) => Err(format!("not a photo newsdesk can show ({e})")),
            },
            Err(reason) => Err(reason),
        };
        if let (Some(a), Err(reason)) = (attachment, &result) {
            let title = if a.title.is_empty() { String::new() } else { format!(" \"{}\"", a.title) };
            skipped.push(format!("attachment {}{title}: {reason}", a.post_id));
        }
        paths.insert(key, result);
    }
    Ok((paths, ids))
}

/// One name per slug across the whole plan (tags and bylines are matched by
/// slug: "News" and "news" are one tag, stored with the first spelling).
fn canonical_names(plan: &mut Plan) {
    let mut tags: HashMap<String, String> = HashMap::new();
    let mut authors: HashMap<String, String> = HashMap::new();
    for s in &mut plan.stories {
        for t in &mut s.tags {
            *t = tags.entry(slugify(t)).or_insert_with(|| t.clone()).clone();
        }
        for a in &mut s.authors {
            *a = authors.entry(slugify(a)).or_insert_with(|| a.clone()).clone();
        }
    }
}

/// Imports the export `file` into the edition `lang` (default: the default edition).
pub async fn import_wxr(
    config: &Config,
    lang: Option<&str>,
    file: &Path,
    media_dir: Option<&Path>,
) -> anyhow::Result<()> {
    let export = read_export(file)?;
    let root = media_root(media_dir)?;
    let source = export.site_url.trim_end_matches('/').to_string();
    if source.is_empty() {
        return Err(anyhow!("{}: the export names no site address (<wp:base_blog_url> or <link>)", file.display()));
    }
    let store = crate::startup::open_store(config).await?;
    let result = import(&store, config, lang, &export, &source, root.as_deref()).await;
    store.close().await;
    result
}

async fn import(
    store: &Store,
    config: &Config,
    lang: Option<&str>,
    export: &Export,
    source: &str,
    root: Option<&Path>,
) -> anyhow::Result<()> {
    let edition = crate::import::target_edition(store, config, lang).await?;
    let mut totals = Totals::default();
    let mut skipped = Vec::new();
    let (media, photo_ids) = store_media(store, source, export, root, &mut totals, &mut skipped).await?;
    let mut plan = plan::plan(export, &media);
    canonical_names(&mut plan);

    let mut redirects = Vec::new();
    for s in &plan.sections {
        let section = store.ensure_section_path(edition.id, &s.names).await?;
        totals.sections += 1;
        let to = edition.url(&format!("/section/{}", section.path));
        redirects.extend(s.old_paths.iter().map(|o| (o.clone(), to.clone())));
    }
    for (old, name) in &plan.tag_redirects {
        redirects.push((old.clone(), edition.url(&format!("/tag/{}", slugify(name)))));
    }
    for (old, name) in &plan.author_redirects {
        redirects.push((old.clone(), edition.url(&format!("/author/{}", slugify(name)))));
    }
    totals.redirects += redirects.len();
    store.put_path_redirects(edition.id, &redirects).await?;

    for s in &plan.stories {
        let input = StoryInput {
            news_id: None,
            edition_id: edition.id,
            section: SectionRef::Names(s.section.clone()),
            slug: s.slug.clone(),
            headline: s.headline.clone(),
            lead: s.lead.clone(),
            body_source: s.body.clone(),
            body_format: BodyFormat::Html,
            photo_id: s.photo.as_ref().and_then(|k| photo_ids.get(k).copied()),
            gallery_id: None,
            status: s.status,
            published_at: s.published_at,
            tags: s.tags.clone(),
            authors: s.authors.clone(),
            agency: None,
            actor: "import".into(),
        };
        let (news_id, outcome) = store
            .import_story(source, &s.post_id.to_string(), &input, s.scheduled_at, &s.old_paths, &edition)
            .await
            .with_context(|| format!("post {} \"{}\": cannot store", s.post_id, s.headline))?;
        *totals.stories.entry(s.status.as_str()).or_default() += 1;
        match outcome {
            SaveOutcome::Created => totals.created += 1,
            SaveOutcome::Updated => totals.updated += 1,
            SaveOutcome::Unchanged => totals.unchanged += 1,
        }
        totals.tags.extend(s.tags.iter().map(|t| slugify(t)));
        totals.bylines.extend(s.authors.iter().map(|a| slugify(a)));
        totals.redirects += s.old_paths.len();
        let comments: Vec<ImportedComment> = s
            .comments
            .iter()
            .map(|c| ImportedComment {
                external_id: c.id.to_string(),
                parent_external_id: c.parent.map(|p| p.to_string()),
                name: c.name.clone(),
                email: c.email.clone(),
                body: c.body.clone(),
                status: c.status,
                created_at: c.created_at,
            })
            .collect();
        for c in &s.comments {
            *totals.comments.entry(c.status.as_str()).or_default() += 1;
        }
        let done = store.import_comments(source, news_id, &comments).await?;
        totals.comments_new += done.created;
        totals.comments_kept += done.unchanged;
        println!("{news_id} {}{} ({})", config.public_url(), edition.url(&format!("/news/{news_id}")), what(outcome));
    }
    skipped.extend(plan.skipped.iter().map(ToString::to_string));
    report(&totals, &skipped, export);
    Ok(())
}

fn what(o: SaveOutcome) -> &'static str {
    match o {
        SaveOutcome::Created => "created",
        SaveOutcome::Updated => "updated",
        SaveOutcome::Unchanged => "unchanged",
    }
}

fn list(counts: &BTreeMap<&'static str, usize>) -> String {
    counts.iter().map(|(k, n)| format!("{n} {k}")).collect::<Vec<_>>().join(", ")
}

/// The end of the output: what was skipped, then the totals.
fn report(t: &Totals, skipped: &[String], export: &Export) {
    for s in skipped {
        println!("skipped {s}");
    }
    let n_stories: usize = t.stories.values().sum();
    let n_comments: usize = t.comments.values().sum();
    println!(
        "stories: {n_stories} of {} items ({}; {} created, {} updated, {} unchanged)",
        export.items.len(),
        list(&t.stories),
        t.created,
        t.updated,
        t.unchanged
    );
    println!("sections: {}, tags: {}, bylines: {}", t.sections, t.tags.len(), t.bylines.len());
    println!("photos: {} of {} attachments ({} new)", t.photos, t.attachments, t.photos_new);
    println!(
        "comments: {n_comments} ({}; {} new, {} imported before)",
        if t.comments.is_empty() { "none".into() } else { list(&t.comments) },
        t.comments_new,
        t.comments_kept
    );
    println!("redirects: {} old addresses", t.redirects);
    println!("total skipped or changed: {} (listed above)", skipped.len());
}
