//! The storage crate's integration tests as one test binary: one link
//! instead of one per file, and the tests of every file share the CPUs.

use chrono::Utc;
use newsdesk_domain::{BodyFormat, StoryStatus};
use newsdesk_storage::{SectionRef, StoryInput};

mod accounts;
mod api_tokens;
mod backup;
mod bulk;
mod comments;
mod content;
mod crops;
mod galleries;
mod media;
mod migrations;
mod properties;
mod reads;
mod socket;
mod sqlite_build;
mod views;
mod wire;

/// The default edition (English, Tehran time), made or found.
pub(crate) async fn edition(store: &newsdesk_storage::Store) -> i64 {
    store
        .upsert_edition(&newsdesk_storage::NewEdition {
            lang: "en".into(),
            name: "Agency".into(),
            direction: newsdesk_domain::Direction::Ltr,
            time_zone: chrono_tz::Asia::Tehran,
            is_default: true,
        })
        .await
        .expect("edition")
        .id
}

/// A new story published now in `edition`, section `section`.
pub(crate) fn published(edition: i64, section: &str, headline: &str) -> StoryInput {
    StoryInput {
        news_id: None,
        edition_id: edition,
        section: SectionRef::Names(vec![section.into()]),
        slug: None,
        headline: headline.into(),
        lead: "Lead".into(),
        body_source: "Body".into(),
        body_format: BodyFormat::Text,
        photo_id: None,
        gallery_id: None,
        status: StoryStatus::Published,
        published_at: Some(Utc::now()),
        tags: vec![],
        authors: vec![],
        agency: None,
        actor: "test".into(),
    }
}
