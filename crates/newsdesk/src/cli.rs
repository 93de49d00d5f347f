//! The command line.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};

use crate::config::{Config, Overrides};

/// newsdesk: a news agency publishing system (site, newsroom, wire) in one binary.
#[derive(Debug, Parser)]
#[command(name = "newsdesk", version, about)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command takes, so all act on the same site.
#[derive(Debug, Args)]
pub struct Global {
    /// Data directory (default ./newsdesk-data) [env: NEWSDESK_DATA]
    #[arg(long, global = true, value_name = "DIR")]
    pub data: Option<PathBuf>,
    /// Database URL: sqlite://FILE or postgres://... (default: SQLite in the data directory) [env: NEWSDESK_DATABASE_URL]
    #[arg(long, global = true, value_name = "URL")]
    pub database_url: Option<String>,
    /// TOML configuration file [env: NEWSDESK_CONFIG]
    #[arg(long, global = true, value_name = "FILE", env = "NEWSDESK_CONFIG")]
    pub config: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the site, the back office and the APIs.
    Serve(ServeArgs),
    /// Apply database schema migrations (serve also does it at start).
    Migrate,
    /// Import content.
    #[command(subcommand)]
    Import(ImportCommand),
    /// Fill an empty site with the demo edition, the seed story and N synthetic stories.
    Demo(DemoArgs),
    /// Wire subscribers: API keys, webhooks, delivery log.
    #[command(subcommand)]
    Subscriber(crate::subscriber::SubscriberCommand),
    /// Back-office users.
    #[command(subcommand)]
    User(UserCommand),
    /// The full-text search index.
    #[command(subcommand)]
    Search(crate::search::SearchCommand),
    /// Write a consistent copy of the whole site (SQLite) to FILE while it serves.
    Backup(crate::backup::BackupArgs),
    /// Put a backup made by `newsdesk backup` in place of the site (SQLite; the server stopped).
    Restore(crate::backup::RestoreArgs),
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user; prints a generated password once (or reads one line from stdin with --password-stdin).
    Add(UserAddArgs),
    /// List users.
    List,
    /// Set a new password (generated and printed, or from stdin) and end the user's sessions.
    Password(UserPasswordArgs),
    /// Make a personal API token for the /api/v1 write API; prints it once.
    Token(UserTokenArgs),
}

#[derive(Debug, Args)]
pub struct UserTokenArgs {
    /// E-mail address of the user the token acts as.
    #[arg(value_name = "EMAIL")]
    pub email: String,
    /// What the token is for, to recognise it later (default: `cli`).
    #[arg(long, value_name = "NAME", default_value = "cli")]
    pub name: String,
}

#[derive(Debug, Args)]
pub struct UserAddArgs {
    /// E-mail address (the login name).
    #[arg(value_name = "EMAIL")]
    pub email: String,
    /// reporter, editor or admin.
    #[arg(long, value_name = "ROLE")]
    pub role: String,
    /// Display name (default: the part of the address before @).
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
    /// Read the password from the first line of stdin instead of generating one.
    #[arg(long)]
    pub password_stdin: bool,
}

#[derive(Debug, Args)]
pub struct UserPasswordArgs {
    /// E-mail address of the user.
    #[arg(value_name = "EMAIL")]
    pub email: String,
    /// Read the password from the first line of stdin instead of generating one.
    #[arg(long)]
    pub password_stdin: bool,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on (default 127.0.0.1:8080) [env: NEWSDESK_LISTEN]
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<String>,
    /// Fill an empty site with demo content (sections, the seed story, synthetic stories).
    #[arg(long)]
    pub demo: bool,
}

#[derive(Debug, Subcommand)]
pub enum ImportCommand {
    /// Import saved article pages in the seed's text format; prints News ID and URL per story.
    Page(ImportPageArgs),
}

#[derive(Debug, Args)]
pub struct ImportPageArgs {
    /// Edition (language code) to import into; default: the default edition.
    #[arg(long, value_name = "LANG")]
    pub edition: Option<String>,
    /// Saved page files.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Number of synthetic stories.
    #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u32).range(0..=5_000_000))]
    pub stories: u32,
}

/// Loads the configuration for `cli`, with `listen` from `serve`.
fn load_config(cli: &Cli, listen: Option<String>) -> anyhow::Result<Config> {
    let flags = Overrides { data: cli.global.data.clone(), listen, database_url: cli.global.database_url.clone() };
    Ok(Config::load(cli.global.config.as_ref(), &flags)?)
}

/// Opens (and migrates) the store the configuration names.
pub async fn open_store(config: &Config) -> anyhow::Result<newsdesk_storage::Store> {
    let url = config.database_url();
    if url.starts_with("sqlite:") {
        std::fs::create_dir_all(&config.data)
            .with_context(|| format!("cannot create data directory {}", config.data.display()))?;
    }
    let store = newsdesk_storage::Store::connect(&url).await?;
    store.migrate().await?;
    Ok(store)
}

/// Runs a parsed command line.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match &cli.command {
        Command::Serve(args) => {
            let config = load_config(&cli, args.listen.clone())?;
            crate::serve::serve(config, args.demo).await
        }
        Command::Migrate => {
            let config = load_config(&cli, None)?;
            let store = open_store(&config).await?;
            store.close().await;
            println!("database is up to date");
            Ok(())
        }
        Command::Import(ImportCommand::Page(args)) => {
            let config = load_config(&cli, None)?;
            crate::import::import_pages(&config, args.edition.as_deref(), &args.files).await
        }
        Command::Subscriber(cmd) => {
            let config = load_config(&cli, None)?;
            crate::subscriber::run(&config, cmd).await
        }
        Command::Search(cmd) => {
            let config = load_config(&cli, None)?;
            crate::search::run(&config, cmd).await
        }
        Command::Backup(args) => {
            let config = load_config(&cli, None)?;
            crate::backup::backup(&config, args).await
        }
        Command::Restore(args) => {
            let config = load_config(&cli, None)?;
            crate::backup::restore(&config, args).await
        }
        Command::User(cmd) => {
            let config = load_config(&cli, None)?;
            let store = open_store(&config).await?;
            let result = match cmd {
                UserCommand::Add(a) => {
                    crate::users::add(&store, &a.email, &a.role, a.name.as_deref(), a.password_stdin).await
                }
                UserCommand::List => crate::users::list(&store).await,
                UserCommand::Password(a) => crate::users::set_password(&store, &a.email, a.password_stdin).await,
                UserCommand::Token(a) => crate::users::token(&store, &a.email, &a.name).await,
            };
            store.close().await;
            result
        }
        Command::Demo(args) => {
            let config = load_config(&cli, None)?;
            let store = open_store(&config).await?;
            let report = crate::demo::fill_site(
                &store,
                args.stories as usize,
                chrono::Utc::now(),
                config.demo_arabic_calendar()?,
            )
            .await?;
            store.close().await;
            if report.created == 0 {
                println!("the site already has stories; nothing was added");
            } else {
                println!("created {} stories", report.created);
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn verify_cli() {
        Cli::command().debug_assert();
    }

    #[test]
    fn global_flags_work_after_the_subcommand() {
        let cli = Cli::try_parse_from(["newsdesk", "import", "page", "--data", "/tmp/x", "a.txt"]).expect("parses");
        assert_eq!(cli.global.data, Some(PathBuf::from("/tmp/x")));
    }
}
