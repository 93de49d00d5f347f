//! `newsdesk subscriber ...`: wire subscribers, their API keys and webhooks.
//!
//! Secrets (API keys, webhook signing secrets) are printed once, alone on
//! stdout, so scripts can capture them (`KEY=$(newsdesk subscriber add x)`);
//! what was done goes to stderr.

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use newsdesk_storage::{AuditEntry, NewSubscriber, Store, StoreError, Subscriber};
use newsdesk_web::webhooks::target::AllowHosts;

use crate::config::Config;

/// Default requests per minute and key.
pub const DEFAULT_RATE_LIMIT: u32 = 120;

#[derive(Debug, Subcommand)]
pub enum SubscriberCommand {
    /// Create a subscriber and print its API key (shown once).
    Add(AddArgs),
    /// List subscribers with their keys and webhooks.
    List,
    /// Make another API key for a subscriber and print it (shown once).
    Key(NameArg),
    /// Webhooks of a subscriber.
    #[command(subcommand)]
    Webhook(WebhookCommand),
    /// The latest webhook deliveries of a subscriber (the delivery log).
    Deliveries(DeliveriesArgs),
    /// Deactivate a subscriber: its keys stop working and its webhooks get nothing more.
    Revoke(NameArg),
    /// Set what a subscriber may take: its product and whether it takes embargoed copy.
    Access(AccessArgs),
    /// Products: named filters on what their subscribers may take.
    #[command(subcommand)]
    Product(ProductCommand),
}

#[derive(Debug, Args)]
pub struct AccessArgs {
    /// Name of the subscriber.
    pub name: String,
    /// Its product (by name); `none`: everything its editions and sections allow.
    #[arg(long, value_name = "PRODUCT")]
    pub product: Option<String>,
    /// Whether it takes embargoed copy (scheduled stories released to the wire before their time).
    #[arg(long, value_name = "BOOL")]
    pub embargo: Option<bool>,
}

#[derive(Debug, Subcommand)]
pub enum ProductCommand {
    /// Create a product.
    Add(ProductArgs),
    /// Replace a product's filters (those not given become "any").
    Set(ProductArgs),
    /// List products with their filters.
    List,
}

#[derive(Debug, Args)]
pub struct ProductArgs {
    /// Unique name of the product.
    pub name: String,
    /// Edition languages; default: any.
    #[arg(long, value_name = "LANG,...", default_value = "")]
    pub editions: String,
    /// Section paths, each with its subsections; default: any.
    #[arg(long, value_name = "PATH,...", default_value = "")]
    pub sections: String,
    /// IPTC Media Topic qcodes (medtop:04000000), each with its narrower topics; default: any.
    #[arg(long, value_name = "QCODE,...", default_value = "")]
    pub subjects: String,
    /// Urgency 1 (most urgent) up to this one gets through; default: any.
    #[arg(long, value_name = "1-8", default_value = "")]
    pub min_urgency: String,
    /// IPTC genres (genre:Current, Analysis, ...); default: any.
    #[arg(long, value_name = "GENRE,...", default_value = "")]
    pub genres: String,
}

#[derive(Debug, Args)]
pub struct AddArgs {
    /// Unique name of the subscriber.
    pub name: String,
    /// Sections it may see, each with its subsections (slugs or paths such as iran/defense); default: all.
    #[arg(long, value_name = "SLUG,...", value_delimiter = ',')]
    pub sections: Vec<String>,
    /// Editions (languages) it may see; default: all.
    #[arg(long, value_name = "LANG,...", value_delimiter = ',')]
    pub editions: Vec<String>,
    /// Requests per minute allowed for each of its keys.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_RATE_LIMIT,
          value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub rate_limit: u32,
    /// Its product (by name); default: none, everything its editions and sections allow.
    #[arg(long, value_name = "PRODUCT")]
    pub product: Option<String>,
    /// It takes embargoed copy (scheduled stories released to the wire before their time).
    #[arg(long)]
    pub embargo: bool,
}

#[derive(Debug, Args)]
pub struct NameArg {
    /// Name of the subscriber.
    pub name: String,
}

#[derive(Debug, Subcommand)]
pub enum WebhookCommand {
    /// Add a webhook URL and print its signing secret (shown once).
    Add(WebhookAddArgs),
}

#[derive(Debug, Args)]
pub struct WebhookAddArgs {
    /// Name of the subscriber.
    pub name: String,
    /// http:// or https:// URL that receives the events.
    pub url: String,
}

#[derive(Debug, Args)]
pub struct DeliveriesArgs {
    /// Name of the subscriber.
    pub name: String,
    /// How many of the newest deliveries to show.
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(i64).range(1..=1000))]
    pub limit: i64,
}

/// Runs a `subscriber` command.
pub async fn run(config: &Config, cmd: &SubscriberCommand) -> anyhow::Result<()> {
    let store = crate::startup::open_store(config).await?;
    let allow = config.wire.allow_hosts()?;
    let result = run_on(&store, cmd, &allow).await;
    store.close().await;
    result
}

async fn run_on(store: &Store, cmd: &SubscriberCommand, allow: &AllowHosts) -> anyhow::Result<()> {
    match cmd {
        SubscriberCommand::Add(a) => {
            let sections = resolve_sections(store, &a.sections).await?;
            let editions = check_editions(store, &a.editions).await?;
            let product = match &a.product {
                Some(p) => Some(find_product(store, p).await?),
                None => None,
            };
            let s = store
                .add_subscriber(
                    &NewSubscriber { name: a.name.clone(), sections, editions, rate_limit: i64::from(a.rate_limit) },
                    &AuditEntry::system("cli", "subscriber.create", "subscriber", "", &a.name),
                )
                .await
                .map_err(|e| match e {
                    StoreError::Conflict { .. } => anyhow::anyhow!("a subscriber named `{}` exists already", a.name),
                    other => other.into(),
                })?;
            if product.is_some() || a.embargo {
                let detail = access_detail(product.as_ref(), a.embargo);
                store
                    .set_subscriber_access(
                        s.id,
                        product.as_ref().map(|p| p.id),
                        a.embargo,
                        &AuditEntry::system("cli", "subscriber.access", "subscriber", s.id, &detail),
                    )
                    .await?;
            }
            let (key, _) = store
                .create_api_key(s.id, &AuditEntry::system("cli", "subscriber.key", "subscriber", s.id, &s.name))
                .await?;
            eprintln!(
                "created subscriber `{}` (sections: {}, editions: {}, {} requests/minute); its API key follows, shown only now:",
                s.name,
                list_or_all(&s.sections),
                list_or_all(&s.editions),
                s.rate_limit
            );
            println!("{key}");
        }
        SubscriberCommand::List => {
            let subs = store.subscribers().await?;
            if subs.is_empty() {
                eprintln!("no subscribers yet; add one with `newsdesk subscriber add NAME`");
            }
            for s in subs {
                let product = match s.product_id {
                    Some(id) => store.product(id).await?.map_or_else(|| id.to_string(), |p| p.name),
                    None => "none".into(),
                };
                println!(
                    "{}\t{}\tsections: {}\teditions: {}\t{}/min\tproduct: {product}\tembargoed copy: {}",
                    s.name,
                    if s.active { "active" } else { "revoked" },
                    list_or_all(&s.sections),
                    list_or_all(&s.editions),
                    s.rate_limit,
                    if s.embargo { "yes" } else { "no" }
                );
                for k in store.api_keys(s.id).await? {
                    let used = k.last_used_at.map_or("never used".to_string(), |t| format!("last used {t}"));
                    let state = if k.revoked_at.is_some() { ", revoked" } else { "" };
                    println!("\tkey {}…\t{used}{state}", k.prefix);
                }
                for w in store.webhooks(s.id).await? {
                    println!("\twebhook {}\t{}", w.url, if w.active { "active" } else { "stopped" });
                }
            }
        }
        SubscriberCommand::Key(n) => {
            let s = find(store, &n.name).await?;
            let (key, _) = store
                .create_api_key(s.id, &AuditEntry::system("cli", "subscriber.key", "subscriber", s.id, &s.name))
                .await?;
            eprintln!("new API key for `{}`, shown only now:", s.name);
            println!("{key}");
        }
        SubscriberCommand::Webhook(WebhookCommand::Add(a)) => {
            check_url(&a.url, allow).await?;
            let s = find(store, &a.name).await?;
            let w = store
                .add_webhook(s.id, &a.url, &AuditEntry::system("cli", "subscriber.webhook", "subscriber", s.id, &a.url))
                .await?;
            eprintln!("webhook {} added for `{}`; its signing secret follows, shown only now:", w.url, s.name);
            println!("{}", w.secret);
        }
        SubscriberCommand::Deliveries(a) => {
            let s = find(store, &a.name).await?;
            for e in store.outbox_of(s.id, a.limit).await? {
                let state = match (e.delivered_at, &e.last_error) {
                    (Some(t), _) => format!("delivered {t}"),
                    (None, Some(err)) => format!("retry at {} ({err})", e.next_attempt_at),
                    (None, None) => "pending".into(),
                };
                println!(
                    "{}\t{}\tnews {} v{}\tattempts {}\t{state}",
                    e.event_id, e.kind, e.news_id, e.version, e.attempts
                );
            }
        }
        SubscriberCommand::Revoke(n) => {
            if !store
                .revoke_subscriber(&n.name, &AuditEntry::system("cli", "subscriber.revoke", "subscriber", "", &n.name))
                .await?
            {
                bail!("there is no subscriber named `{}`", n.name);
            }
            eprintln!("subscriber `{}` revoked: its keys and webhooks no longer work", n.name);
        }
        SubscriberCommand::Access(a) => {
            let s = find(store, &a.name).await?;
            let product = match a.product.as_deref() {
                None => match s.product_id {
                    Some(id) => store.product(id).await?,
                    None => None,
                },
                Some("none") => None,
                Some(p) => Some(find_product(store, p).await?),
            };
            let embargo = a.embargo.unwrap_or(s.embargo);
            let detail = access_detail(product.as_ref(), embargo);
            store
                .set_subscriber_access(
                    s.id,
                    product.as_ref().map(|p| p.id),
                    embargo,
                    &AuditEntry::system("cli", "subscriber.access", "subscriber", s.id, &detail),
                )
                .await?;
            eprintln!("subscriber `{}`: {detail}", s.name);
        }
        SubscriberCommand::Product(ProductCommand::List) => {
            let products = store.products().await?;
            if products.is_empty() {
                eprintln!("no products yet; add one with `newsdesk subscriber product add NAME --sections ...`");
            }
            for p in products {
                println!("{}\t{}", p.name, newsdesk_web::wire::access::describe(&p.filters));
            }
        }
        SubscriberCommand::Product(ProductCommand::Add(a) | ProductCommand::Set(a)) => {
            let id = match cmd {
                SubscriberCommand::Product(ProductCommand::Set(_)) => Some(find_product(store, &a.name).await?.id),
                _ => None,
            };
            let input = newsdesk_web::wire::access::FiltersInput {
                editions: a.editions.clone(),
                sections: a.sections.clone(),
                subjects: a.subjects.clone(),
                min_urgency: a.min_urgency.clone(),
                genres: a.genres.clone(),
            };
            let filters = match newsdesk_web::wire::access::check_filters(store, &input).await? {
                Ok(f) => f,
                Err(errors) => {
                    let lines: Vec<String> = errors.into_iter().map(|(field, m)| format!("--{field}: {m}")).collect();
                    bail!("{}", lines.join("; ").replace("--min_urgency", "--min-urgency"))
                }
            };
            let described = newsdesk_web::wire::access::describe(&filters);
            let action = if id.is_some() { "product.update" } else { "product.create" };
            let p = store
                .save_product(
                    id,
                    &a.name,
                    &filters,
                    &AuditEntry::system(
                        "cli",
                        action,
                        "product",
                        id.map(|i| i.to_string()).unwrap_or_default(),
                        &described,
                    ),
                )
                .await
                .map_err(|e| match e {
                    StoreError::Conflict { .. } => anyhow::anyhow!("a product named `{}` exists already", a.name),
                    other => other.into(),
                })?;
            eprintln!("product `{}` saved ({described})", p.name);
        }
    }
    Ok(())
}

async fn find_product(store: &Store, name: &str) -> anyhow::Result<newsdesk_storage::Product> {
    store.product_by_name(name).await?.with_context(|| format!("there is no product named `{name}`"))
}

fn access_detail(product: Option<&newsdesk_storage::Product>, embargo: bool) -> String {
    format!(
        "product: {}; embargoed copy: {}",
        product.map_or("none (full access)", |p| p.name.as_str()),
        if embargo { "yes" } else { "no" }
    )
}

async fn find(store: &Store, name: &str) -> anyhow::Result<Subscriber> {
    store.subscriber_by_name(name).await?.with_context(|| format!("there is no subscriber named `{name}`"))
}

fn list_or_all(items: &[String]) -> String {
    if items.is_empty() { "all".into() } else { items.join(",") }
}

/// Section paths for the given paths or slugs; each must name a section.
async fn resolve_sections(store: &Store, given: &[String]) -> anyhow::Result<Vec<String>> {
    let mut all = Vec::new();
    for e in store.editions().await? {
        all.extend(store.sections(e.id).await?);
    }
    let mut out = Vec::new();
    for g in given.iter().map(|g| g.trim().trim_matches('/')).filter(|g| !g.is_empty()) {
        let path = if all.iter().any(|s| s.path == g) {
            g.to_string()
        } else {
            let mut by_slug: Vec<&str> = all.iter().filter(|s| s.slug == g).map(|s| s.path.as_str()).collect();
            by_slug.sort_unstable();
            by_slug.dedup();
            match by_slug.as_slice() {
                [one] => one.to_string(),
                [] => bail!("--sections: there is no section `{g}`"),
                many => bail!("--sections: `{g}` names several sections; give one of {}", many.join(", ")),
            }
        };
        if !out.contains(&path) {
            out.push(path);
        }
    }
    Ok(out)
}

async fn check_editions(store: &Store, given: &[String]) -> anyhow::Result<Vec<String>> {
    let editions = store.editions().await?;
    let mut out = Vec::new();
    for g in given.iter().map(|g| g.trim()).filter(|g| !g.is_empty()) {
        if !editions.iter().any(|e| e.lang == g) {
            let known: Vec<&str> = editions.iter().map(|e| e.lang.as_str()).collect();
            bail!("--editions: there is no edition `{g}` (editions: {})", known.join(", "));
        }
        out.push(g.to_string());
    }
    Ok(out)
}

/// A webhook URL must be an absolute http(s) URL whose host is public (or
/// in `wire.webhook_allow_hosts`): the server's delivery log must not become
/// a port scanner of its own network.
async fn check_url(url: &str, allow: &AllowHosts) -> anyhow::Result<()> {
    newsdesk_web::webhooks::target::check_url(url, allow).await.map_err(|e| anyhow::anyhow!("{e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn webhook_urls_are_checked() {
        let none = AllowHosts::default();
        assert!(check_url("https://93.184.215.14/hook", &none).await.is_ok());
        let e = check_url("http://127.0.0.1:9000/", &none).await.expect_err("loopback").to_string();
        assert!(e.contains("loopback") && e.contains("wire.webhook_allow_hosts"), "{e}");
        let allow = AllowHosts::parse(&["127.0.0.1"]).expect("allow list");
        assert!(check_url("http://127.0.0.1:9000/", &allow).await.is_ok());
        assert!(check_url("ftp://example.com/", &none).await.is_err());
        assert!(check_url("/relative", &none).await.is_err());
        assert!(check_url("not a url", &none).await.is_err());
    }
}
