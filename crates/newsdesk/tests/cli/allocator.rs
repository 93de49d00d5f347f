//! The binary's allocator is jemalloc for C code too.

use std::process::Command;

#[test]
fn c_code_allocates_from_jemalloc_too() {
    // SQLite calls C's malloc. Built with its symbols unprefixed, jemalloc is
    // that malloc and reads its options from `MALLOC_CONF`; prefixed (the
    // default), C's malloc is glibc's, which ignores it, and jemalloc reads
    // `_RJEM_MALLOC_CONF` only.
    let out = Command::new(env!("CARGO_BIN_EXE_newsdesk"))
        .arg("--version")
        .env("MALLOC_CONF", "stats_print:true")
        .env_remove("_RJEM_MALLOC_CONF")
        .output()
        .expect("run newsdesk");
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("jemalloc statistics"), "MALLOC_CONF was not read by jemalloc: {stderr}");
}
