// Tells whoever runs the tests, at build time, whether the PostgreSQL half of
// the storage tests will run: cargo shows build-script warnings, while test
// output is captured.
fn main() {
    println!("cargo:rerun-if-env-changed=NEWSDESK_TEST_POSTGRES_URL");
    println!("cargo:rerun-if-changed=migrations");
    if std::env::var_os("NEWSDESK_TEST_POSTGRES_URL").is_none() {
        println!(
            "cargo:warning=NEWSDESK_TEST_POSTGRES_URL is not set: PostgreSQL tests will be skipped (SQLite tests run)"
        );
    }
}
