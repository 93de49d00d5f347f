//! `newsdesk ingest FILE...`: other agencies' wire items (NewsML-G2, NITF,
//! ninjs) into `ingested_items`. Each file is read and stored in one
//! transaction: a malformed file leaves nothing behind.

use std::path::{Path, PathBuf};

use anyhow::anyhow;
use newsdesk_domain::ingest::{self, IncomingItem, IngestError, Position};
use newsdesk_storage::IngestOutcome;

use crate::config::Config;

/// `file:line:col: reason`, or `file: $.path: reason` for JSON.
fn located(path: &Path, e: &IngestError) -> String {
    match &e.at {
        Position::Text { .. } => format!("{}:{}: {}", path.display(), e.at, e.reason),
        Position::Json(_) => format!("{}: {}: {}", path.display(), e.at, e.reason),
    }
}

fn outcome(o: IngestOutcome) -> String {
    match o {
        IngestOutcome::Created => "created".into(),
        IngestOutcome::Updated { previous } => format!("updated from version {previous}"),
        IngestOutcome::Unchanged => "unchanged".into(),
        IngestOutcome::Older { stored } => format!("unchanged: version {stored} is stored, newer"),
    }
}

/// `, routed to DESK` when a routing rule sent the new item to a desk (and
/// whether its draft is waiting for the site: the running site makes it).
async fn routed(store: &newsdesk_storage::Store, source: &str, guid: &str) -> anyhow::Result<String> {
    Ok(match store.ingest_route(source, guid).await? {
        Some(r) if r.fetch == "pending" => format!(", routed to {} (the site makes its draft)", cell(&r.desk_name)),
        Some(r) => format!(", routed to {}", cell(&r.desk_name)),
        None => String::new(),
    })
}

/// Tabs and line breaks inside a field would break the one-line output.
fn cell(s: &str) -> String {
    s.replace(['\t', '\n', '\r'], " ")
}

/// Reads one file into its items, or why not.
fn read(path: &Path) -> Result<(Vec<IncomingItem>, Vec<String>), String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
    let doc = ingest::parse(&bytes).map_err(|e| located(path, &e))?;
    let mut items = Vec::new();
    let mut refused = Vec::new();
    for entry in doc.items {
        match entry {
            Ok(item) => items.push(item),
            Err(e) => refused.push(located(path, &e)),
        }
    }
    Ok((items, refused))
}

/// Takes in each file; prints `guid<TAB>version<TAB>headline<TAB>what happened`
/// per item, and `file:line:col: reason` (on stderr) per refused file or item.
/// Fails when anything was refused.
pub async fn ingest(config: &Config, source: &str, files: &[PathBuf]) -> anyhow::Result<()> {
    let source = source.trim();
    if source.is_empty() || source.len() > 100 || source.chars().any(char::is_control) {
        return Err(anyhow!("--source: a name of 1 to 100 characters, without control characters"));
    }
    let store = crate::startup::open_store(config).await?;
    let mut refused = 0usize;
    for path in files {
        let (items, refusals) = match read(path) {
            Ok(read) => read,
            Err(e) => {
                eprintln!("{e}");
                refused += 1;
                continue;
            }
        };
        for r in &refusals {
            eprintln!("{r}");
        }
        refused += refusals.len();
        if items.is_empty() {
            continue;
        }
        match store.ingest_items(source, &items).await {
            Ok(outcomes) => {
                for (item, o) in items.iter().zip(outcomes) {
                    let routed = match o {
                        IngestOutcome::Created => routed(&store, source, &item.guid).await?,
                        _ => String::new(),
                    };
                    println!(
                        "{}\t{}\t{}\t{}{routed}",
                        cell(&item.guid),
                        item.version,
                        cell(&item.headline),
                        outcome(o)
                    );
                }
            }
            Err(e) => {
                eprintln!("{}: cannot store: {e}", path.display());
                refused += 1;
            }
        }
    }
    store.close().await;
    if refused == 0 { Ok(()) } else { Err(anyhow!("{refused} refused (files or items): see the messages above")) }
}
