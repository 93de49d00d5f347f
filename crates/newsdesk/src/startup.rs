//! What every command does before its own work: load the configuration, open
//! (and migrate) the store, make sure the site has its default edition.

use std::path::PathBuf;

use anyhow::{Context, anyhow};
use newsdesk_domain::Edition;
use newsdesk_storage::Store;

use crate::config::{Config, Overrides};

/// Loads the configuration: defaults, then the file, then the environment, then `flags`.
pub fn load_config(file: Option<&PathBuf>, flags: &Overrides) -> anyhow::Result<Config> {
    Ok(Config::load(file, flags)?)
}

/// Opens (and migrates) the store the configuration names.
pub async fn open_store(config: &Config) -> anyhow::Result<Store> {
    let url = config.database_url();
    if url.starts_with("sqlite:") {
        std::fs::create_dir_all(&config.data)
            .with_context(|| format!("cannot create data directory {}", config.data.display()))?;
    }
    let store = Store::connect(&url).await?;
    store.migrate().await?;
    Ok(store)
}

/// `newsdesk migrate`: brings the database schema up to date.
pub async fn migrate(config: &Config) -> anyhow::Result<()> {
    let store = open_store(config).await?;
    store.close().await;
    println!("database is up to date");
    Ok(())
}

/// Makes sure the site has a default edition (from the configuration) and returns it.
pub async fn ensure_default_edition(store: &Store, config: &Config) -> anyhow::Result<Edition> {
    if let Some(e) = store.default_edition().await? {
        return Ok(e);
    }
    let e = &config.edition;
    Ok(store
        .upsert_edition(&newsdesk_storage::NewEdition {
            lang: e.lang.clone(),
            name: e.name.clone(),
            direction: newsdesk_domain::Direction::parse(&e.direction),
            time_zone: e.time_zone.parse().map_err(|_| anyhow!("edition.time_zone: unknown zone {}", e.time_zone))?,
            is_default: true,
        })
        .await?)
}
