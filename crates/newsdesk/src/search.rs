//! `newsdesk search ...`: the full-text index of this node, kept in
//! `search/` inside the data directory.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::Subcommand;
use newsdesk_search::SearchIndex;

use crate::config::Config;

#[derive(Debug, Subcommand)]
pub enum SearchCommand {
    /// Rebuild the search index from the database (a running server keeps its index current by itself).
    Reindex,
}

/// Where this node's index lives.
pub fn index_dir(config: &Config) -> PathBuf {
    config.data.join("search")
}

/// Opens (or creates) this node's index.
pub fn open_index(config: &Config) -> anyhow::Result<Arc<SearchIndex>> {
    let dir = index_dir(config);
    let index = SearchIndex::open_or_create(&dir)
        .with_context(|| format!("cannot open the search index in {}", dir.display()))?;
    Ok(Arc::new(index))
}

/// Runs a `search` subcommand.
pub async fn run(config: &Config, cmd: &SearchCommand) -> anyhow::Result<()> {
    match cmd {
        SearchCommand::Reindex => {
            let store = crate::startup::open_store(config).await?;
            let index = open_index(config)?;
            let started = std::time::Instant::now();
            let result = newsdesk_search::reindex_all(&index, &store).await;
            store.close().await;
            let count = result.context("cannot rebuild the search index")?;
            println!(
                "indexed {count} stories (every state; readers find the published ones) into {} in {:.1} s",
                index.dir().display(),
                started.elapsed().as_secs_f64()
            );
            Ok(())
        }
    }
}
