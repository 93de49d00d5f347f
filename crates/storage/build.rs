// Rebuilds when a migration changes: `sqlx::migrate!` embeds the folder.
//
// Whether the PostgreSQL half of the tests runs is said by the tests
// themselves (`testing::TestDb::postgres`), not here: a build-script warning
// would reach everyone who only builds or runs the site.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
