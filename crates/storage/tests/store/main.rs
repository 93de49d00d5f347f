//! The storage crate's integration tests as one test binary: one link
//! instead of one per file, and the tests of every file share the CPUs.

mod accounts;
mod api_tokens;
mod backup;
mod comments;
mod content;
mod crops;
mod galleries;
mod media;
mod migrations;
mod properties;
mod sqlite_build;
mod views;
mod wire;
