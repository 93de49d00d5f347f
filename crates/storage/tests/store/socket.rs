//! A store on PostgreSQL through the server's Unix socket
//! (`postgres://user@localhost/db?host=/var/run/postgresql`), the faster way
//! when the server runs on the same machine: every connection the store opens
//! from its URL (the pool, the `LISTEN` connection, a bulk load's own
//! connections) goes through the socket.

use newsdesk_storage::{Store, testing::TestDb};
use sqlx::Row;

/// The socket URL of the test database's server, from its own settings: the
/// first of `unix_socket_directories` and its port, with the test URL's user
/// and database. `None` when the server has no socket.
async fn socket_url(db: &TestDb) -> Option<String> {
    let pool = sqlx::PgPool::connect(&db.url).await.expect("raw pool");
    let row = sqlx::query(
        "SELECT current_setting('unix_socket_directories'), current_setting('port'), current_user, current_database()",
    )
    .fetch_one(&pool)
    .await
    .expect("settings");
    pool.close().await;
    let (dirs, port, user, name): (String, String, String, String) = (row.get(0), row.get(1), row.get(2), row.get(3));
    let dir = dirs.split(',').map(str::trim).find(|d| !d.is_empty())?;
    Some(format!("postgres://{user}@localhost:{port}/{name}?host={dir}"))
}

#[tokio::test]
async fn a_store_opened_through_the_unix_socket_reads_writes_listens_and_bulk_loads_there() {
    let Some(db) = TestDb::postgres().await else { return };
    let Some(url) = socket_url(&db).await else {
        eprintln!("note: the test PostgreSQL server has no Unix socket: socket test skipped");
        return;
    };
    // The test database's own store (over TCP) lets go, so that every
    // connection to the database below is one this test made.
    db.store.close().await;
    let store = Store::connect(&url).await.unwrap_or_else(|e| panic!("open {url}: {e}"));
    store.migrate().await.expect("migrate (nothing to do)");
    // Through the socket: the server sees no client address.
    let pool = sqlx::PgPool::connect(&url).await.expect("raw socket pool");
    let addr: Option<String> =
        sqlx::query_scalar("SELECT inet_client_addr()::text").fetch_one(&pool).await.expect("client address");
    assert_eq!(addr, None, "{url} connects over TCP");

    // The LISTEN connection (opened from the URL) signals once it listens,
    // then at each change.
    let wait = std::time::Duration::from_secs(10);
    let mut signal = store.change_signal();
    tokio::time::timeout(wait, signal.changed()).await.expect("listening within 10 s").expect("signal");
    let edition = crate::edition(&store).await;
    let (news_id, _) = store.save_story(&crate::published(edition, "Iran", "Through the socket")).await.expect("save");
    tokio::time::timeout(wait, signal.changed()).await.expect("a change notification within 10 s").expect("signal");
    let (story, _) =
        store.reads().await.expect("reads").story_for_page(news_id, 5).await.expect("read").expect("found");
    assert_eq!(story.headline, "Through the socket");

    // A bulk load: with a role that may turn key triggers off (the test
    // server's superuser), on connections of its own opened from the URL.
    let batch: Vec<_> = (0..3).map(|i| crate::published(edition, "Iran", &format!("Bulk {i}"))).collect();
    let ids = store.create_stories(&batch).await.expect("bulk load");
    assert_eq!(ids.len(), 3);
    let last = store.reads().await.expect("reads").story_for_page(ids[2], 5).await.expect("read").expect("found");
    assert_eq!(last.0.headline, "Bulk 2");

    // The store's connections still open (its pool, the LISTEN connection
    // and the bulk load's own, idle for seconds yet): none came over TCP.
    let backends: Vec<(i32, Option<String>)> = sqlx::query_as(
        "SELECT pid, client_addr::text FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()",
    )
    .fetch_all(&pool)
    .await
    .expect("the database's connections");
    assert!(backends.len() >= 3, "the pool, the listener and the bulk load's connections: {backends:?}");
    let tcp: Vec<_> = backends.iter().filter(|(_, addr)| addr.is_some()).collect();
    assert!(tcp.is_empty(), "connections over TCP: {tcp:?}");
    pool.close().await;
    store.close().await;
}
