//! The newsdesk crate's integration tests as one test binary: one link
//! instead of one per file, and the tests of every file share the CPUs.

mod allocator;
mod backup;
mod comments_kill;
mod demo;
mod import;
mod import_feed;
mod ingest;
mod outage;
mod search;
mod serve;
mod subscriber_products;
mod user_token;
mod webhooks;
mod wxr;
