//! The command line: parses the arguments and hands each command to its
//! module (start-up shared by all of them is in [`crate::startup`]).

use std::path::PathBuf;

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
    /// TOML configuration file
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
    /// Take in other agencies' wire items (NewsML-G2, NITF, ninjs files); prints guid, version and headline per item.
    Ingest(IngestArgs),
    /// Fill an empty site with the demo edition, the seed story and N synthetic stories.
    Demo(DemoArgs),
    /// Wire subscribers: API keys, webhooks, delivery log.
    #[command(subcommand)]
    Subscriber(crate::subscriber::SubscriberCommand),
    /// Back-office users.
    #[command(subcommand)]
    User(crate::users::UserCommand),
    /// The full-text search index.
    #[command(subcommand)]
    Search(crate::search::SearchCommand),
    /// Write a consistent copy of the whole site (SQLite) to FILE while it serves.
    Backup(crate::backup::BackupArgs),
    /// Put a backup made by `newsdesk backup` in place of the site (SQLite; the server stopped).
    Restore(crate::backup::RestoreArgs),
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
    /// Import a WordPress export (WXR): posts, categories, tags, authors, comments, photos found under
    /// --media-dir, and 301 redirects from the old addresses; idempotent. Prints what was skipped and why.
    Wxr(ImportWxrArgs),
    /// Import an RSS, Atom or JSON Feed archive (a URL or a file): entries become published stories with
    /// their dates, authors and categories, and 301 redirects from their old links; idempotent.
    /// Prints what was skipped and why.
    Feed(ImportFeedArgs),
}

#[derive(Debug, Args)]
pub struct ImportFeedArgs {
    /// Edition (language code) to import into; default: the default edition.
    #[arg(long, value_name = "LANG")]
    pub edition: Option<String>,
    /// The feed: an http(s) URL (fetched once) or a file.
    #[arg(value_name = "URL|FILE")]
    pub from: String,
}

#[derive(Debug, Args)]
pub struct ImportWxrArgs {
    /// Edition (language code) to import into; default: the default edition.
    #[arg(long, value_name = "LANG")]
    pub edition: Option<String>,
    /// A copy of the old site's wp-content/uploads: photos are taken from there, never from the internet.
    #[arg(long, value_name = "DIR")]
    pub media_dir: Option<PathBuf>,
    /// The export file (Tools → Export in WordPress).
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
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
pub struct IngestArgs {
    /// Name of the source the items come from (a guid is unique per source).
    #[arg(long, value_name = "NAME", default_value = "cli")]
    pub source: String,
    /// NewsML-G2 (newsItem or newsMessage), NITF 3.x or ninjs 1.x-3.x files; the format is read from the content.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Number of synthetic stories.
    #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u32).range(0..=5_000_000))]
    pub stories: u32,
}

/// The configuration for `cli`, with `listen` from `serve`.
fn config(cli: &Cli, listen: Option<String>) -> anyhow::Result<Config> {
    let flags = Overrides { data: cli.global.data.clone(), listen, database_url: cli.global.database_url.clone() };
    crate::startup::load_config(cli.global.config.as_ref(), &flags)
}

/// Runs a parsed command line.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match &cli.command {
        Command::Serve(args) => crate::serve::serve(config(&cli, args.listen.clone())?, args.demo).await,
        Command::Migrate => crate::startup::migrate(&config(&cli, None)?).await,
        Command::Import(ImportCommand::Page(args)) => {
            crate::import::import_pages(&config(&cli, None)?, args.edition.as_deref(), &args.files).await
        }
        Command::Import(ImportCommand::Wxr(args)) => {
            crate::wxr::import_wxr(&config(&cli, None)?, args.edition.as_deref(), &args.file, args.media_dir.as_deref())
                .await
        }
        Command::Import(ImportCommand::Feed(args)) => {
            crate::feed_import::import_feed(&config(&cli, None)?, args.edition.as_deref(), &args.from).await
        }
        Command::Ingest(args) => crate::ingest::ingest(&config(&cli, None)?, &args.source, &args.files).await,
        Command::Demo(args) => crate::demo::run(&config(&cli, None)?, args.stories as usize).await,
        Command::Subscriber(cmd) => crate::subscriber::run(&config(&cli, None)?, cmd).await,
        Command::User(cmd) => crate::users::run(&config(&cli, None)?, cmd).await,
        Command::Search(cmd) => crate::search::run(&config(&cli, None)?, cmd).await,
        Command::Backup(args) => crate::backup::backup(&config(&cli, None)?, args).await,
        Command::Restore(args) => crate::backup::restore(&config(&cli, None)?, args).await,
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

    #[test]
    fn help_names_each_environment_variable_once() {
        let help = Cli::command().render_long_help().to_string();
        for var in ["NEWSDESK_DATA", "NEWSDESK_DATABASE_URL", "NEWSDESK_CONFIG"] {
            let named = help
                .match_indices(var)
                .filter(|(at, _)| !help[at + var.len()..].starts_with(|c: char| c == '_' || c.is_ascii_alphanumeric()))
                .count();
            assert_eq!(named, 1, "{var} in:\n{help}");
        }
    }
}
