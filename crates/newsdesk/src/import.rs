//! `newsdesk import page`: saved article pages into an edition.

use std::path::{Path, PathBuf};

use anyhow::{Context, anyhow};
use newsdesk_domain::{Edition, saved_page};
use newsdesk_storage::{SaveOutcome, Store, StoryInput};

use crate::config::Config;

/// Creates the edition `lang` on first import into it, for the languages the
/// site has words for (Persian, Arabic, English): right to left for Persian
/// and Arabic, in the default edition's time zone, with its language's calendar
/// and digits (Solar Hijri and Persian digits for `fa`). Other codes are refused.
async fn create_edition(store: &Store, config: &Config, lang: &str) -> anyhow::Result<Edition> {
    if !matches!(lang, "fa" | "ar" | "en") {
        return Err(anyhow!(
            "--edition: there is no edition `{lang}` (editions are created on first import for fa, ar and en)"
        ));
    }
    let rtl = matches!(lang, "fa" | "ar");
    let time_zone = config
        .edition
        .time_zone
        .parse()
        .map_err(|_| anyhow!("edition.time_zone: unknown zone {}", config.edition.time_zone))?;
    let e = store
        .upsert_edition(&newsdesk_storage::NewEdition {
            lang: lang.to_string(),
            name: config.edition.name.clone(),
            direction: if rtl { newsdesk_domain::Direction::Rtl } else { newsdesk_domain::Direction::Ltr },
            time_zone,
            is_default: false,
        })
        .await?;
    eprintln!("created the edition `{lang}` (served at /{lang}/)");
    Ok(e)
}

/// The edition an import goes into: `lang`'s (created on first import), else the default one.
pub(crate) async fn target_edition(store: &Store, config: &Config, lang: Option<&str>) -> anyhow::Result<Edition> {
    let default = crate::startup::ensure_default_edition(store, config).await?;
    Ok(match lang {
        Some(lang) if lang != default.lang => match store.edition_by_lang(lang).await? {
            Some(e) => e,
            None => create_edition(store, config, lang).await?,
        },
        _ => default,
    })
}

/// Reads and checks one file; the error names the file and line.
fn read_page(path: &Path, edition: &Edition) -> anyhow::Result<StoryInput> {
    let bytes = std::fs::read(path).with_context(|| format!("{}: cannot read", path.display()))?;
    let text = String::from_utf8(bytes)
        .map_err(|e| anyhow!("{}: not UTF-8 text (byte {})", path.display(), e.utf8_error().valid_up_to()))?;
    let page =
        saved_page::parse(&text).map_err(|e| anyhow!("{}:{}: expected {}", path.display(), e.line, e.expected))?;
    StoryInput::from_saved_page(&page, edition).map_err(|e| anyhow!("{}: {e}", path.display()))
}

/// Imports each file in one transaction; prints `NEWS_ID URL` per story.
/// A bad file is reported and skipped (nothing of it stored); the command fails if any file failed.
pub async fn import_pages(config: &Config, edition: Option<&str>, files: &[PathBuf]) -> anyhow::Result<()> {
    let store = crate::startup::open_store(config).await?;
    let edition = target_edition(&store, config, edition).await?;
    let base = config.public_url();
    let prefix = if edition.is_default { String::new() } else { format!("/{}", edition.lang) };
    let mut failed = Vec::new();
    for path in files {
        let result = async {
            let mut input = read_page(path, &edition)?;
            if let Some(existing) = store.story(input.news_id.unwrap_or_default()).await? {
                // The file carries no photo, tags or byline: keep what editors added.
                input.photo_id = existing.photo.map(|p| p.id);
                input.tags = existing.tags.into_iter().map(|t| t.name).collect();
                input.authors = existing.authors.into_iter().map(|a| a.name).collect();
            }
            let (id, outcome) =
                store.save_story(&input).await.with_context(|| format!("{}: cannot store", path.display()))?;
            let story = store.story(id).await?.ok_or_else(|| anyhow!("story {id} vanished after import"))?;
            let what = match outcome {
                SaveOutcome::Created => "created",
                SaveOutcome::Updated => "updated",
                SaveOutcome::Unchanged => "unchanged",
            };
            println!("{id} {base}{prefix}{} ({what})", story.path());
            anyhow::Ok(())
        }
        .await;
        if let Err(e) = result {
            eprintln!("{e:#}");
            failed.push(path.display().to_string());
        }
    }
    store.close().await;
    if failed.is_empty() {
        Ok(())
    } else {
        Err(anyhow!("{} of {} files not imported: {}", failed.len(), files.len(), failed.join(", ")))
    }
}
