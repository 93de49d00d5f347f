//! Typed configuration, loaded once at start: defaults → TOML file →
//! `NEWSDESK_*` environment → command-line flags.

use std::net::SocketAddr;
use std::path::PathBuf;

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

/// All settings of a newsdesk process.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Data directory (SQLite file, ...). Env `NEWSDESK_DATA`.
    pub data: PathBuf,
    /// Address to listen on. Env `NEWSDESK_LISTEN`.
    pub listen: SocketAddr,
    /// `sqlite://...` or `postgres://...`; empty means SQLite in the data directory. Env `NEWSDESK_DATABASE_URL`.
    pub database_url: String,
    /// Public base URL for canonical links; empty means `http://{listen}`. Env `NEWSDESK_PUBLIC_URL`.
    pub public_url: String,
    /// Page cache bound in megabytes. Env `NEWSDESK_PAGE_CACHE_MB`.
    pub page_cache_mb: u64,
    /// Folder with templates overriding the embedded theme. Env `NEWSDESK_THEME_DIR`.
    pub theme_dir: Option<PathBuf>,
    /// Log format: `text` or `json`. Env `NEWSDESK_LOG_FORMAT`.
    pub log_format: String,
    /// Request timeout in seconds. Env `NEWSDESK_REQUEST_TIMEOUT_SECS`.
    pub request_timeout_secs: u64,
    /// Seconds a client has to send a request head (slow clients are disconnected;
    /// idle kept-alive connections are closed after as long), 1–300. Env `NEWSDESK_HEADER_READ_TIMEOUT_SECS`.
    pub header_read_timeout_secs: u64,
    /// Most connections one client address may hold open at once (`trusted_proxies` are
    /// exempt), at least 1. Env `NEWSDESK_MAX_CONNECTIONS_PER_IP`.
    pub max_connections_per_ip: usize,
    /// Count story views for "most visited". Env `NEWSDESK_COUNT_VIEWS`.
    pub count_views: bool,
    /// Seconds an edition's shared fragments ("Most visited", "Latest", "Updated
    /// in") are used before they are rebuilt, 5–3600; a publish rebuilds them at
    /// once anyway. Env `NEWSDESK_SIDEBAR_REFRESH_SECS`.
    pub sidebar_refresh_secs: u64,
    /// Proxies whose `X-Forwarded-For` is believed (IP addresses). Env `NEWSDESK_TRUSTED_PROXIES` as `[ip, ...]`.
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// Stories per feed (RSS, Atom, JSON Feed), 1–500. Env `NEWSDESK_FEED_ITEMS`.
    pub feed_items: u32,
    /// Default edition created on a site that has none.
    pub edition: EditionConfig,
    /// The wire for subscribers. Env `NEWSDESK_WIRE__<KEY>`.
    pub wire: WireConfig,
    /// Readers' comments. Env `NEWSDESK_COMMENTS__<KEY>`.
    pub comments: CommentsConfig,
    /// Photo uploads. Env `NEWSDESK_MEDIA__<KEY>`.
    pub media: MediaConfig,
    /// Embeds: oEmbed lookups at save time. Env `NEWSDESK_EMBEDS__<KEY>`.
    pub embeds: EmbedsConfig,
    /// Calendar of the demo's Arabic edition: `gregorian` or `hijri`. Env `NEWSDESK_DEMO_ARABIC_CALENDAR`.
    pub demo_arabic_calendar: String,
    /// Separate address serving `/metrics` without a token (e.g. `127.0.0.1:9090`); keep it off the
    /// public network. Env `NEWSDESK_METRICS_LISTEN`.
    pub metrics_listen: Option<SocketAddr>,
    /// Bearer token for `/metrics` on the main address; unset: `/metrics` is not served there.
    /// Env `NEWSDESK_METRICS_TOKEN`.
    pub metrics_token: Option<String>,
    /// Days a spiked story is kept before it is purged, 1–3650. Env `NEWSDESK_SPIKE_EXPIRY_DAYS`.
    pub spike_expiry_days: u32,
    /// Breaking news. Env `NEWSDESK_BREAKING__<KEY>`.
    pub breaking: BreakingConfig,
    /// Ingest: the `[[ingest.sources]]` polled for other agencies' wires.
    pub ingest: IngestConfig,
}

/// Ingest settings of the config file.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IngestConfig {
    /// Sources defined here, upserted by name at each start and read-only in the back office.
    pub sources: Vec<SourceConfig>,
}

/// One `[[ingest.sources]]` entry.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceConfig {
    /// Unique name; the `source` of its items.
    pub name: String,
    /// `dir` (a directory drop) or `http` (an HTTP pull).
    pub kind: String,
    /// `auto` (the default), `newsml-g2`, `nitf`, `ninjs` or `feed`.
    #[serde(default = "auto")]
    pub format: String,
    /// The folder of a `dir` source.
    #[serde(default)]
    pub path: Option<String>,
    /// The URL of an `http` source.
    #[serde(default)]
    pub url: Option<String>,
    /// Key sent as `Authorization: Bearer` (a ninjs API); none when empty.
    #[serde(default)]
    pub api_key: String,
    /// Seconds between polls (30–86400; default 300).
    #[serde(default = "five_minutes")]
    pub interval_secs: i64,
    /// Whether it is polled (default true).
    #[serde(default = "yes")]
    pub enabled: bool,
}

fn auto() -> String {
    "auto".into()
}

fn five_minutes() -> i64 {
    300
}

fn yes() -> bool {
    true
}

impl IngestConfig {
    /// The sources as the store takes them; an error names the entry and its key.
    pub fn sources(&self) -> Result<Vec<newsdesk_storage::InboundSourceInput>, ConfigError> {
        let mut out: Vec<newsdesk_storage::InboundSourceInput> = Vec::new();
        for (i, s) in self.sources.iter().enumerate() {
            let at = format!("ingest.sources[{i}]");
            let location = match (s.kind.as_str(), &s.path, &s.url) {
                ("dir", Some(p), None) => p.clone(),
                ("http", None, Some(u)) => u.clone(),
                ("dir", _, _) => {
                    return Err(ConfigError::Invalid(format!("{at}: a dir source needs `path` (and no `url`)")));
                }
                ("http", _, _) => {
                    return Err(ConfigError::Invalid(format!("{at}: an http source needs `url` (and no `path`)")));
                }
                (k, _, _) => return Err(ConfigError::Invalid(format!("{at}.kind: must be dir or http, found `{k}`"))),
            };
            let form = newsdesk_web::ingest_sources::SourceForm {
                name: s.name.clone(),
                kind: s.kind.clone(),
                format: s.format.clone(),
                location,
                api_key: s.api_key.clone(),
                remove_key: s.api_key.trim().is_empty(),
                interval_secs: s.interval_secs.to_string(),
                enabled: s.enabled,
            };
            let input = newsdesk_web::ingest_sources::validate(&form).map_err(|errors| {
                let parts: Vec<String> = errors
                    .iter()
                    .map(|e| {
                        let key =
                            if e.field == "location" { if s.kind == "dir" { "path" } else { "url" } } else { e.field };
                        format!("{at}.{key}: {}", e.message)
                    })
                    .collect();
                ConfigError::Invalid(parts.join("; "))
            })?;
            if out.iter().any(|o| o.name == input.name) {
                return Err(ConfigError::Invalid(format!("{at}.name: `{}` names two sources", input.name)));
            }
            out.push(input);
        }
        Ok(out)
    }
}

/// Breaking news: how long a mark lasts by default, and raising it by urgency.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BreakingConfig {
    /// Minutes a story stays breaking when the editor names no expiry, 1–10080.
    /// Env `NEWSDESK_BREAKING__DEFAULT_MINUTES`.
    pub default_minutes: u32,
    /// A story published with a ninjs urgency at or below this (1–8) becomes
    /// breaking news automatically; 0 (the default) never. Env `NEWSDESK_BREAKING__AUTO_URGENCY`.
    pub auto_urgency: u8,
}

impl Default for BreakingConfig {
    fn default() -> Self {
        BreakingConfig { default_minutes: 120, auto_urgency: 0 }
    }
}

impl BreakingConfig {
    /// The web layer's breaking-news settings (call after [`Config::load`] validated them).
    pub fn settings(&self) -> newsdesk_web::desk::breaking::BreakingSettings {
        newsdesk_web::desk::breaking::BreakingSettings {
            default_minutes: i64::from(self.default_minutes),
            auto_urgency: (self.auto_urgency > 0).then_some(i64::from(self.auto_urgency)),
        }
    }
}

/// Embeds: where the server asks a provider's oEmbed for an embed's title
/// and thumbnail, once per URL, when a story is saved.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmbedsConfig {
    /// Base URL replacing the scheme, host and port of every provider's oEmbed
    /// endpoint (`http://127.0.0.1:9000`: tests, an egress proxy); empty: the providers' own.
    pub oembed_url: String,
    /// Seconds a provider may take to answer (1–30); a save never waits longer, and never fails for it.
    pub timeout_secs: u64,
}

impl Default for EmbedsConfig {
    fn default() -> Self {
        EmbedsConfig { oembed_url: String::new(), timeout_secs: 4 }
    }
}

impl EmbedsConfig {
    /// The web layer's settings.
    pub fn settings(&self) -> newsdesk_web::embeds::EmbedSettings {
        let url = self.oembed_url.trim();
        newsdesk_web::embeds::EmbedSettings {
            oembed_url: (!url.is_empty()).then(|| url.to_string()),
            timeout: std::time::Duration::from_secs(self.timeout_secs),
        }
    }
}

/// Photo uploads in the back office.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MediaConfig {
    /// Largest upload accepted, in megabytes (1–1024).
    pub max_upload_mb: u64,
    /// Largest photo accepted, in megapixels (1–256): refused from its header, before decoding.
    pub max_megapixels: u64,
}

impl Default for MediaConfig {
    fn default() -> Self {
        MediaConfig { max_upload_mb: 20, max_megapixels: newsdesk_web::media::DEFAULT_MAX_PIXELS / 1_000_000 }
    }
}

/// Readers' comments: moderation, closing, content rules and rate limits.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommentsConfig {
    /// `pre` (an editor approves each comment first) or `post` (shown at once), for editions that set none.
    pub moderation: String,
    /// Comments close this many days after publication; 0 never closes them.
    pub close_after_days: u32,
    /// Most characters in a comment.
    pub max_length: usize,
    /// Most links in a comment.
    pub max_links: usize,
    /// Fewest seconds between showing the form and sending it.
    pub min_fill_secs: u32,
    /// Words and phrases that refuse a comment (whole words, any case).
    pub blocklist: Vec<String>,
    /// Whether links in comments are clickable (always `rel="nofollow ugc"`).
    pub links_clickable: bool,
    /// Comments per client address per window; 0 is no limit.
    pub rate_per_ip: u32,
    /// Comments per story per window; 0 is no limit.
    pub rate_per_story: u32,
    /// Length of the rate window in seconds.
    pub rate_window_secs: u64,
    /// The same text is refused as a duplicate for this many hours.
    pub duplicate_hours: u32,
}

impl Default for CommentsConfig {
    fn default() -> Self {
        let web = newsdesk_web::comments::CommentSettings::default();
        CommentsConfig {
            moderation: web.moderation.as_str().into(),
            close_after_days: web.close_after_days,
            max_length: web.rules.max_length,
            max_links: web.rules.max_links,
            min_fill_secs: u32::try_from(web.rules.min_fill_secs).unwrap_or(3),
            blocklist: web.rules.blocklist,
            links_clickable: web.rules.links_clickable,
            rate_per_ip: web.rate_per_ip,
            rate_per_story: web.rate_per_story,
            rate_window_secs: web.rate_window_secs,
            duplicate_hours: web.duplicate_hours,
        }
    }
}

impl CommentsConfig {
    /// The web layer's comment settings (call after [`Config::load`] validated them).
    pub fn settings(&self) -> newsdesk_web::comments::CommentSettings {
        let defaults = newsdesk_web::comments::CommentSettings::default();
        newsdesk_web::comments::CommentSettings {
            rules: newsdesk_domain::comments::CommentRules {
                max_length: self.max_length,
                max_links: self.max_links,
                min_fill_secs: i64::from(self.min_fill_secs),
                blocklist: self.blocklist.iter().map(|w| w.trim().to_string()).filter(|w| !w.is_empty()).collect(),
                links_clickable: self.links_clickable,
                ..defaults.rules
            },
            moderation: newsdesk_domain::comments::ModerationMode::parse(&self.moderation).unwrap_or_default(),
            close_after_days: self.close_after_days,
            rate_per_ip: self.rate_per_ip,
            rate_per_story: self.rate_per_story,
            rate_window_secs: self.rate_window_secs,
            duplicate_hours: self.duplicate_hours,
        }
    }
}

/// The wire for subscribers: rights statements on every ninjs item.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WireConfig {
    /// `copyrightholder` of ninjs items; empty: the edition's name. Env `NEWSDESK_WIRE__COPYRIGHT_HOLDER`.
    pub copyright_holder: String,
    /// `usageterms` of ninjs items. Env `NEWSDESK_WIRE__USAGE_TERMS`.
    pub usage_terms: String,
    /// Internal hosts webhooks may go to (host names or IP addresses); every other webhook
    /// host must be a public address. Env `NEWSDESK_WIRE__WEBHOOK_ALLOW_HOSTS` as `[host, ...]`.
    pub webhook_allow_hosts: Vec<String>,
}

impl Default for WireConfig {
    fn default() -> Self {
        WireConfig {
            copyright_holder: String::new(),
            usage_terms: newsdesk_web::wire::DEFAULT_USAGE_TERMS.into(),
            webhook_allow_hosts: Vec::new(),
        }
    }
}

impl WireConfig {
    /// The web layer's wire settings.
    pub fn settings(&self) -> Result<newsdesk_web::wire::WireSettings, ConfigError> {
        Ok(newsdesk_web::wire::WireSettings {
            copyright_holder: self.copyright_holder.trim().to_string(),
            usage_terms: self.usage_terms.trim().to_string(),
            webhook_allow_hosts: self.allow_hosts()?,
            ..newsdesk_web::wire::WireSettings::default()
        })
    }

    /// `webhook_allow_hosts`, read.
    pub fn allow_hosts(&self) -> Result<newsdesk_web::webhooks::target::AllowHosts, ConfigError> {
        newsdesk_web::webhooks::target::AllowHosts::parse(&self.webhook_allow_hosts)
            .map_err(|e| ConfigError::Invalid(format!("wire.webhook_allow_hosts: {e}")))
    }
}

/// The edition created on an empty site.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EditionConfig {
    /// Language code. Env `NEWSDESK_EDITION__LANG`.
    pub lang: String,
    /// Name of the agency / edition. Env `NEWSDESK_EDITION__NAME`.
    pub name: String,
    /// IANA time zone. Env `NEWSDESK_EDITION__TIME_ZONE`.
    pub time_zone: String,
    /// `ltr` or `rtl`. Env `NEWSDESK_EDITION__DIRECTION`.
    pub direction: String,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            data: PathBuf::from("newsdesk-data"),
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            database_url: String::new(),
            public_url: String::new(),
            page_cache_mb: 128,
            theme_dir: None,
            log_format: "text".into(),
            request_timeout_secs: 30,
            header_read_timeout_secs: 10,
            max_connections_per_ip: 256,
            count_views: true,
            sidebar_refresh_secs: 60,
            trusted_proxies: Vec::new(),
            feed_items: 50,
            edition: EditionConfig {
                lang: "en".into(),
                name: "Newsdesk Agency".into(),
                time_zone: "Asia/Tehran".into(),
                direction: "ltr".into(),
            },
            wire: WireConfig::default(),
            comments: CommentsConfig::default(),
            media: MediaConfig::default(),
            embeds: EmbedsConfig::default(),
            demo_arabic_calendar: "gregorian".into(),
            metrics_listen: None,
            metrics_token: None,
            spike_expiry_days: newsdesk_web::desk::spike::SPIKE_EXPIRY_DAYS,
            breaking: BreakingConfig::default(),
            ingest: IngestConfig::default(),
        }
    }
}

/// Values given on the command line (highest precedence).
#[derive(Debug, Default, Serialize)]
pub struct Overrides {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listen: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database_url: Option<String>,
}

/// Why the configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A key has a wrong value (figment names the key and its source).
    #[error("configuration: {0}")]
    Invalid(String),
}

impl Config {
    /// Loads the configuration: defaults, then `file` (must exist if given), then the environment, then `flags`.
    pub fn load(file: Option<&PathBuf>, flags: &Overrides) -> Result<Config, ConfigError> {
        let mut fig = Figment::from(Serialized::defaults(Config::default()));
        if let Some(f) = file {
            if !f.is_file() {
                return Err(ConfigError::Invalid(format!("config file {} does not exist", f.display())));
            }
            fig = fig.merge(Toml::file_exact(f));
        }
        fig = fig
            .merge(Env::prefixed("NEWSDESK_").split("__").ignore(&["CONFIG", "TEST_POSTGRES_URL"]))
            .merge(Serialized::defaults(flags));
        let config: Config = fig.extract().map_err(|e| {
            let msgs: Vec<String> = e.into_iter().map(|e| e.to_string()).collect();
            ConfigError::Invalid(msgs.join("; "))
        })?;
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        self.demo_arabic_calendar()?;
        self.wire.allow_hosts()?;
        self.ingest.sources()?;
        if self.edition.time_zone.parse::<chrono_tz::Tz>().is_err() {
            return Err(ConfigError::Invalid(format!(
                "edition.time_zone: `{}` is not an IANA time zone (e.g. Asia/Tehran)",
                self.edition.time_zone
            )));
        }
        if !matches!(self.edition.direction.as_str(), "ltr" | "rtl") {
            return Err(ConfigError::Invalid(format!(
                "edition.direction: must be ltr or rtl, found `{}`",
                self.edition.direction
            )));
        }
        if !matches!(self.log_format.as_str(), "text" | "json") {
            return Err(ConfigError::Invalid(format!("log_format: must be text or json, found `{}`", self.log_format)));
        }
        if newsdesk_domain::comments::ModerationMode::parse(&self.comments.moderation).is_none() {
            return Err(ConfigError::Invalid(format!(
                "comments.moderation: must be pre or post, found `{}`",
                self.comments.moderation
            )));
        }
        if self.comments.max_length == 0 {
            return Err(ConfigError::Invalid("comments.max_length: must be at least 1".into()));
        }
        if self.comments.rate_window_secs == 0 {
            return Err(ConfigError::Invalid("comments.rate_window_secs: must be at least 1".into()));
        }
        if !(1..=1024).contains(&self.media.max_upload_mb) {
            return Err(ConfigError::Invalid(format!(
                "media.max_upload_mb: must be from 1 to 1024, found {}",
                self.media.max_upload_mb
            )));
        }
        if !(1..=30).contains(&self.embeds.timeout_secs) {
            return Err(ConfigError::Invalid(format!(
                "embeds.timeout_secs: must be from 1 to 30, found {}",
                self.embeds.timeout_secs
            )));
        }
        let oembed = self.embeds.oembed_url.trim();
        if !(oembed.is_empty() || oembed.starts_with("http://") || oembed.starts_with("https://")) {
            return Err(ConfigError::Invalid(format!(
                "embeds.oembed_url: must be an http or https URL, found `{oembed}`"
            )));
        }
        if !(1..=256).contains(&self.media.max_megapixels) {
            return Err(ConfigError::Invalid(format!(
                "media.max_megapixels: must be from 1 to 256, found {}",
                self.media.max_megapixels
            )));
        }
        if !(1..=500).contains(&self.feed_items) {
            return Err(ConfigError::Invalid(format!("feed_items: must be from 1 to 500, found {}", self.feed_items)));
        }
        if !(1..=300).contains(&self.header_read_timeout_secs) {
            return Err(ConfigError::Invalid(format!(
                "header_read_timeout_secs: must be from 1 to 300, found {}",
                self.header_read_timeout_secs
            )));
        }
        if self.max_connections_per_ip == 0 {
            return Err(ConfigError::Invalid("max_connections_per_ip: must be at least 1".into()));
        }
        if !(1..=3650).contains(&self.spike_expiry_days) {
            return Err(ConfigError::Invalid(format!(
                "spike_expiry_days: must be from 1 to 3650, found {}",
                self.spike_expiry_days
            )));
        }
        let max_minutes = newsdesk_web::desk::breaking::MAX_BREAKING_MINUTES;
        if !(1..=max_minutes).contains(&i64::from(self.breaking.default_minutes)) {
            return Err(ConfigError::Invalid(format!(
                "breaking.default_minutes: must be from 1 to {max_minutes}, found {}",
                self.breaking.default_minutes
            )));
        }
        if self.breaking.auto_urgency > 8 {
            return Err(ConfigError::Invalid(format!(
                "breaking.auto_urgency: must be from 0 (off) to 8, found {}",
                self.breaking.auto_urgency
            )));
        }
        if !(5..=3600).contains(&self.sidebar_refresh_secs) {
            return Err(ConfigError::Invalid(format!(
                "sidebar_refresh_secs: must be from 5 to 3600, found {}",
                self.sidebar_refresh_secs
            )));
        }
        if self.page_cache_mb == 0 {
            return Err(ConfigError::Invalid("page_cache_mb: must be at least 1".into()));
        }
        if let Some(token) = &self.metrics_token
            && token.trim().len() < 16
        {
            return Err(ConfigError::Invalid(
                "metrics_token: must be at least 16 characters (a random string; it guards /metrics)".into(),
            ));
        }
        if self.metrics_listen.is_some_and(|m| m == self.listen) {
            return Err(ConfigError::Invalid(format!(
                "metrics_listen: must differ from listen ({}); /metrics on the main address needs metrics_token",
                self.listen
            )));
        }
        let url = &self.public_url;
        if !(url.is_empty() || url.starts_with("http://") || url.starts_with("https://")) {
            return Err(ConfigError::Invalid(format!(
                "public_url: must start with http:// or https://, found `{}`",
                self.public_url
            )));
        }
        Ok(())
    }

    /// The database URL to use.
    pub fn database_url(&self) -> String {
        if self.database_url.is_empty() {
            newsdesk_storage::sqlite_url_in(&self.data)
        } else {
            self.database_url.clone()
        }
    }

    /// The calendar of the demo's Arabic edition (`demo_arabic_calendar`).
    pub fn demo_arabic_calendar(&self) -> Result<newsdesk_domain::calendar::Calendar, ConfigError> {
        use newsdesk_domain::calendar::Calendar;
        match self.demo_arabic_calendar.parse::<Calendar>() {
            Ok(c @ (Calendar::Gregorian | Calendar::Hijri)) => Ok(c),
            _ => Err(ConfigError::Invalid(format!(
                "demo_arabic_calendar: must be gregorian or hijri, found `{}`",
                self.demo_arabic_calendar
            ))),
        }
    }

    /// The limits of the server's connections.
    pub fn server_limits(&self) -> newsdesk_web::server::ServerLimits {
        newsdesk_web::server::ServerLimits {
            header_read_timeout: std::time::Duration::from_secs(self.header_read_timeout_secs),
            max_connections_per_ip: self.max_connections_per_ip,
            unlimited: self.trusted_proxies.clone(),
        }
    }

    /// The public base URL, without a trailing slash.
    pub fn public_url(&self) -> String {
        if self.public_url.is_empty() {
            format!("http://{}", self.listen)
        } else {
            self.public_url.trim_end_matches('/').to_string()
        }
    }
}

#[cfg(test)]
#[expect(clippy::result_large_err, reason = "figment::Jail's closures return figment::Error")]
mod tests {
    use super::*;

    #[test]
    fn flags_beat_environment_beat_file_beat_defaults() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "n.toml",
                "listen = \"127.0.0.1:9000\"\npage_cache_mb = 64\n[edition]\nname = \"File Agency\"\n",
            )?;
            jail.set_env("NEWSDESK_PAGE_CACHE_MB", "32");
            let flags = Overrides { listen: Some("127.0.0.1:9100".into()), ..Default::default() };
            let c = Config::load(Some(&"n.toml".into()), &flags).map_err(|e| e.to_string())?;
            assert_eq!(c.listen.port(), 9100);
            assert_eq!(c.page_cache_mb, 32);
            assert_eq!(c.edition.name, "File Agency");
            assert_eq!(c.edition.time_zone, "Asia/Tehran");
            Ok(())
        });
    }

    #[test]
    fn a_wrong_value_names_its_key() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("NEWSDESK_PAGE_CACHE_MB", "lots");
            let e = Config::load(None, &Overrides::default()).expect_err("must fail").to_string();
            assert!(e.to_lowercase().contains("page_cache_mb"), "{e}");
            jail.set_env("NEWSDESK_PAGE_CACHE_MB", "8");
            jail.set_env("NEWSDESK_EDITION__TIME_ZONE", "Mars/Olympus");
            let e = Config::load(None, &Overrides::default()).expect_err("must fail").to_string();
            assert!(e.contains("edition.time_zone"), "{e}");
            jail.set_env("NEWSDESK_EDITION__TIME_ZONE", "Asia/Tehran");
            jail.set_env("NEWSDESK_SIDEBAR_REFRESH_SECS", "2");
            let e = Config::load(None, &Overrides::default()).expect_err("must fail").to_string();
            assert!(e.contains("sidebar_refresh_secs: must be from 5 to 3600, found 2"), "{e}");
            jail.set_env("NEWSDESK_SIDEBAR_REFRESH_SECS", "15");
            assert_eq!(Config::load(None, &Overrides::default()).map_err(|e| e.to_string())?.sidebar_refresh_secs, 15);
            Ok(())
        });
    }

    #[test]
    fn comment_settings_come_from_file_and_environment_and_are_checked() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("n.toml", "[comments]\nmoderation = \"post\"\nblocklist = [\"casino\", \" \"]\n")?;
            jail.set_env("NEWSDESK_COMMENTS__RATE_PER_IP", "1000");
            let c = Config::load(Some(&"n.toml".into()), &Overrides::default()).map_err(|e| e.to_string())?;
            let s = c.comments.settings();
            assert_eq!(s.moderation, newsdesk_domain::comments::ModerationMode::Post);
            assert_eq!((s.rate_per_ip, s.close_after_days, s.rules.max_length), (1000, 30, 5000));
            assert_eq!(s.rules.blocklist, ["casino"]);
            jail.set_env("NEWSDESK_COMMENTS__MODERATION", "later");
            let e = Config::load(None, &Overrides::default()).expect_err("must fail").to_string();
            assert!(e.contains("comments.moderation"), "{e}");
            Ok(())
        });
    }

    #[test]
    fn the_oembed_url_comes_from_the_environment_and_is_checked() {
        figment::Jail::expect_with(|jail| {
            let c = Config::load(None, &Overrides::default()).map_err(|e| e.to_string())?;
            assert_eq!(c.embeds.settings().oembed_url, None, "the providers' own by default");
            assert_eq!(c.embeds.settings().timeout, std::time::Duration::from_secs(4));
            jail.set_env("NEWSDESK_EMBEDS__OEMBED_URL", "http://127.0.0.1:9000");
            let c = Config::load(None, &Overrides::default()).map_err(|e| e.to_string())?;
            assert_eq!(c.embeds.settings().oembed_url.as_deref(), Some("http://127.0.0.1:9000"));
            jail.set_env("NEWSDESK_EMBEDS__OEMBED_URL", "ftp://example.org");
            let e = Config::load(None, &Overrides::default()).expect_err("must fail").to_string();
            assert!(e.contains("embeds.oembed_url"), "{e}");
            jail.set_env("NEWSDESK_EMBEDS__OEMBED_URL", "");
            jail.set_env("NEWSDESK_EMBEDS__TIMEOUT_SECS", "0");
            let e = Config::load(None, &Overrides::default()).expect_err("must fail").to_string();
            assert!(e.contains("embeds.timeout_secs"), "{e}");
            Ok(())
        });
    }

    #[test]
    fn the_upload_limit_defaults_to_20_mb_and_is_checked() {
        figment::Jail::expect_with(|jail| {
            assert_eq!(Config::load(None, &Overrides::default()).map_err(|e| e.to_string())?.media.max_upload_mb, 20);
            jail.set_env("NEWSDESK_MEDIA__MAX_UPLOAD_MB", "5");
            assert_eq!(Config::load(None, &Overrides::default()).map_err(|e| e.to_string())?.media.max_upload_mb, 5);
            jail.set_env("NEWSDESK_MEDIA__MAX_UPLOAD_MB", "0");
            let e = Config::load(None, &Overrides::default()).expect_err("must fail").to_string();
            assert!(e.contains("media.max_upload_mb"), "{e}");
            Ok(())
        });
    }

    #[test]
    fn the_pixel_limit_defaults_to_64_megapixels_and_is_checked() {
        figment::Jail::expect_with(|jail| {
            assert_eq!(Config::load(None, &Overrides::default()).map_err(|e| e.to_string())?.media.max_megapixels, 64);
            jail.set_env("NEWSDESK_MEDIA__MAX_MEGAPIXELS", "100");
            assert_eq!(Config::load(None, &Overrides::default()).map_err(|e| e.to_string())?.media.max_megapixels, 100);
            jail.set_env("NEWSDESK_MEDIA__MAX_MEGAPIXELS", "300");
            let e = Config::load(None, &Overrides::default()).expect_err("must fail").to_string();
            assert!(e.contains("media.max_megapixels"), "{e}");
            Ok(())
        });
    }

    #[test]
    fn feed_length_defaults_to_50_and_is_checked() {
        figment::Jail::expect_with(|jail| {
            assert_eq!(Config::load(None, &Overrides::default()).map_err(|e| e.to_string())?.feed_items, 50);
            jail.set_env("NEWSDESK_FEED_ITEMS", "20");
            assert_eq!(Config::load(None, &Overrides::default()).map_err(|e| e.to_string())?.feed_items, 20);
            jail.set_env("NEWSDESK_FEED_ITEMS", "0");
            let e = Config::load(None, &Overrides::default()).expect_err("must fail").to_string();
            assert!(e.contains("feed_items"), "{e}");
            Ok(())
        });
    }

    #[test]
    fn metrics_settings_come_from_file_and_environment_and_are_checked() {
        figment::Jail::expect_with(|jail| {
            let c = Config::load(None, &Overrides::default()).map_err(|e| e.to_string())?;
            assert_eq!((c.metrics_listen, c.metrics_token), (None, None));
            jail.create_file("n.toml", "metrics_listen = \"127.0.0.1:9090\"\n")?;
            jail.set_env("NEWSDESK_METRICS_TOKEN", "a-long-enough-metrics-token");
            let c = Config::load(Some(&"n.toml".into()), &Overrides::default()).map_err(|e| e.to_string())?;
            assert_eq!(c.metrics_listen, Some(SocketAddr::from(([127, 0, 0, 1], 9090))));
            assert_eq!(c.metrics_token.as_deref(), Some("a-long-enough-metrics-token"));
            jail.set_env("NEWSDESK_METRICS_LISTEN", "127.0.0.1:9191");
            let c = Config::load(Some(&"n.toml".into()), &Overrides::default()).map_err(|e| e.to_string())?;
            assert_eq!(c.metrics_listen.map(|a| a.port()), Some(9191));
            jail.set_env("NEWSDESK_METRICS_TOKEN", "short");
            let e = Config::load(None, &Overrides::default()).expect_err("must fail").to_string();
            assert!(e.contains("metrics_token"), "{e}");
            jail.set_env("NEWSDESK_METRICS_TOKEN", "a-long-enough-metrics-token");
            jail.set_env("NEWSDESK_METRICS_LISTEN", "nowhere");
            let e = Config::load(None, &Overrides::default()).expect_err("must fail").to_string();
            assert!(e.to_lowercase().contains("metrics_listen"), "{e}");
            jail.set_env("NEWSDESK_METRICS_LISTEN", "127.0.0.1:8080");
            let e = Config::load(None, &Overrides::default()).expect_err("must fail").to_string();
            assert!(e.contains("metrics_listen: must differ"), "{e}");
            Ok(())
        });
    }

    #[test]
    fn connection_limits_default_sanely_and_are_checked() {
        figment::Jail::expect_with(|jail| {
            let c = Config::load(None, &Overrides::default()).map_err(|e| e.to_string())?;
            let l = c.server_limits();
            assert_eq!((l.header_read_timeout.as_secs(), l.max_connections_per_ip), (10, 256));
            jail.create_file("n.toml", "trusted_proxies = [\"10.0.0.1\"]\nmax_connections_per_ip = 8\n")?;
            jail.set_env("NEWSDESK_HEADER_READ_TIMEOUT_SECS", "3");
            let l =
                Config::load(Some(&"n.toml".into()), &Overrides::default()).map_err(|e| e.to_string())?.server_limits();
            assert_eq!((l.header_read_timeout.as_secs(), l.max_connections_per_ip), (3, 8));
            assert_eq!(l.unlimited, vec![std::net::IpAddr::from([10, 0, 0, 1])], "trusted proxies are not limited");
            jail.set_env("NEWSDESK_HEADER_READ_TIMEOUT_SECS", "0");
            let e = Config::load(None, &Overrides::default()).expect_err("must fail").to_string();
            assert!(e.contains("header_read_timeout_secs"), "{e}");
            jail.set_env("NEWSDESK_HEADER_READ_TIMEOUT_SECS", "10");
            jail.set_env("NEWSDESK_MAX_CONNECTIONS_PER_IP", "0");
            let e = Config::load(None, &Overrides::default()).expect_err("must fail").to_string();
            assert!(e.contains("max_connections_per_ip"), "{e}");
            Ok(())
        });
    }

    #[test]
    fn webhook_allow_hosts_come_from_file_and_environment_and_are_checked() {
        figment::Jail::expect_with(|jail| {
            let c = Config::load(None, &Overrides::default()).map_err(|e| e.to_string())?;
            assert!(c.wire.allow_hosts().map_err(|e| e.to_string())?.is_empty(), "nothing internal by default");
            jail.create_file("n.toml", "[wire]\nwebhook_allow_hosts = [\"127.0.0.1\", \"receiver.internal\"]\n")?;
            let c = Config::load(Some(&"n.toml".into()), &Overrides::default()).map_err(|e| e.to_string())?;
            assert_eq!(c.wire.webhook_allow_hosts, ["127.0.0.1", "receiver.internal"]);
            jail.set_env("NEWSDESK_WIRE__WEBHOOK_ALLOW_HOSTS", "[\"::1\"]");
            let c = Config::load(Some(&"n.toml".into()), &Overrides::default()).map_err(|e| e.to_string())?;
            assert_eq!(c.wire.webhook_allow_hosts, ["::1"]);
            jail.set_env("NEWSDESK_WIRE__WEBHOOK_ALLOW_HOSTS", "[\"http://x/\"]");
            let e = Config::load(None, &Overrides::default()).expect_err("must fail").to_string();
            assert!(e.contains("wire.webhook_allow_hosts") && e.contains("http://x/"), "{e}");
            Ok(())
        });
    }

    #[test]
    fn spike_and_breaking_settings_default_sanely_and_are_checked() {
        figment::Jail::expect_with(|jail| {
            let c = Config::load(None, &Overrides::default()).map_err(|e| e.to_string())?;
            assert_eq!(c.spike_expiry_days, 30);
            assert_eq!(c.breaking.settings(), newsdesk_web::desk::breaking::BreakingSettings::default());
            assert_eq!(c.breaking.settings().auto_urgency, None, "off by default");
            jail.create_file("n.toml", "spike_expiry_days = 7\n[breaking]\nauto_urgency = 2\n")?;
            jail.set_env("NEWSDESK_BREAKING__DEFAULT_MINUTES", "45");
            let c = Config::load(Some(&"n.toml".into()), &Overrides::default()).map_err(|e| e.to_string())?;
            assert_eq!(c.spike_expiry_days, 7);
            assert_eq!((c.breaking.settings().default_minutes, c.breaking.settings().auto_urgency), (45, Some(2)));
            jail.set_env("NEWSDESK_SPIKE_EXPIRY_DAYS", "0");
            let e = Config::load(None, &Overrides::default()).expect_err("must fail").to_string();
            assert!(e.contains("spike_expiry_days"), "{e}");
            jail.set_env("NEWSDESK_SPIKE_EXPIRY_DAYS", "30");
            jail.set_env("NEWSDESK_BREAKING__AUTO_URGENCY", "9");
            let e = Config::load(None, &Overrides::default()).expect_err("must fail").to_string();
            assert!(e.contains("breaking.auto_urgency"), "{e}");
            Ok(())
        });
    }

    #[test]
    fn ingest_sources_come_from_the_file_and_are_checked() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "n.toml",
                "[[ingest.sources]]\nname = \"afp\"\nkind = \"dir\"\npath = \"/srv/wires/afp\"\n\n\
                 [[ingest.sources]]\nname = \"peer\"\nkind = \"http\"\nurl = \"https://peer.example/api/ninjs/v2/items\"\n\
                 format = \"ninjs\"\napi_key = \"nd_key\"\ninterval_secs = 60\n",
            )?;
            let c = Config::load(Some(&"n.toml".into()), &Overrides::default()).map_err(|e| e.to_string())?;
            let s = c.ingest.sources().map_err(|e| e.to_string())?;
            assert_eq!((s[0].format.as_str(), s[0].interval_secs, s[0].enabled), ("auto", 300, true));
            assert_eq!(s[0].api_key.as_deref(), Some(""), "no key in the file: none stored");
            assert_eq!(
                (s[1].location.as_str(), s[1].api_key.as_deref()),
                ("https://peer.example/api/ninjs/v2/items", Some("nd_key"))
            );
            for (toml, key) in [
                ("name = \"x\"\nkind = \"http\"\nurl = \"ftp://x\"", "ingest.sources[0].url"),
                (
                    "name = \"x\"\nkind = \"dir\"\nurl = \"https://x.example/\"",
                    "ingest.sources[0]: a dir source needs `path`",
                ),
                ("name = \"x\"\nkind = \"dir\"\npath = \"/x\"\ninterval_secs = 5", "ingest.sources[0].interval_secs"),
                ("name = \"x\"\nkind = \"dir\"\npath = \"/x\"\nformat = \"pdf\"", "ingest.sources[0].format"),
                ("name = \"x\"\nkind = \"ftp\"", "ingest.sources[0].kind"),
            ] {
                jail.create_file("bad.toml", &format!("[[ingest.sources]]\n{toml}\n"))?;
                let e =
                    Config::load(Some(&"bad.toml".into()), &Overrides::default()).expect_err("must fail").to_string();
                assert!(e.contains(key), "{toml}: {e}");
            }
            jail.create_file(
                "twice.toml",
                "[[ingest.sources]]\nname = \"x\"\nkind = \"dir\"\npath = \"/x\"\n[[ingest.sources]]\nname = \"x\"\nkind = \"dir\"\npath = \"/y\"\n",
            )?;
            let e = Config::load(Some(&"twice.toml".into()), &Overrides::default()).expect_err("must fail").to_string();
            assert!(e.contains("ingest.sources[1].name"), "{e}");
            Ok(())
        });
    }

    #[test]
    fn unknown_keys_in_the_file_are_refused() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("n.toml", "listn = \"127.0.0.1:9000\"\n")?;
            let e = Config::load(Some(&"n.toml".into()), &Overrides::default()).expect_err("must fail").to_string();
            assert!(e.contains("listn"), "{e}");
            Ok(())
        });
    }
}
