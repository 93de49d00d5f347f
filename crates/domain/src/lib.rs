//! The newsdesk domain: what a story, a section and an edition are, how
//! dates are shown, how slugs are made, how story bodies are cleaned, and how
//! the seed's "saved page" text format is read. Nothing here does I/O.

pub mod agency;
pub mod body;
pub mod calendar;
pub mod comments;
pub mod crop;
pub mod dates;
pub mod gallery;
pub mod html;
pub mod i18n;
pub mod ingest;
pub mod limits;
pub mod mediatopic;
pub mod model;
pub mod ninjs;
pub mod photo_meta;
pub mod roles;
pub mod routing;
pub mod saved_page;
pub mod slug;
pub mod text;
pub mod workflow;
pub mod wxr;

pub use model::*;
