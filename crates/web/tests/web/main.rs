//! The web crate's integration tests as one test binary: one link
//! instead of one per file, and the tests of every file share the CPUs.

#[path = "../common/mod.rs"]
mod common;

mod accounts;
mod admin;
mod agency;
mod api;
mod comments;
mod crops;
mod desk;
mod desks;
mod editions;
mod editor;
mod embargo;
mod embeds;
mod feeds;
mod freshness;
mod fronts;
mod galleries;
mod ingest_desk;
mod ingest_sources;
mod live;
mod locks;
mod media;
mod metrics;
mod newsml;
mod newsroom_languages;
mod newsroom_search;
mod nodes;
mod photo_metadata;
mod products;
mod properties;
mod routing;
mod search;
mod security;
mod site;
mod snapshots;
mod spike_breaking;
mod webhooks;
mod wire;
