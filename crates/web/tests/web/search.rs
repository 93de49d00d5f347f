//! `/search` and `/api/v1/search` through the real router, with a real index
//! filled from the database, on SQLite and on PostgreSQL.

use std::sync::Arc;

use axum::http::StatusCode;
use chrono::Duration;
use newsdesk_search::{SearchIndex, reindex_all};
use newsdesk_storage::backend_test;

use crate::common;

use common::{SEED_PATH, TestApp, main_of, seed_time};

/// The test site with a search index rebuilt from its database.
async fn with_index(db: newsdesk_storage::testing::TestDb) -> (TestApp, tempfile::TempDir) {
    let mut app = TestApp::new(db).await;
    let dir = tempfile::tempdir().expect("dir");
    let index = Arc::new(SearchIndex::open_or_create(&dir.path().join("search")).expect("index"));
    reindex_all(&index, &app.db.store).await.expect("rebuild");
    app.state.use_search(index);
    (app, dir)
}

backend_test! {
    /// The site's index gives way to readers: while a page is being made on
    /// this node, a rebuild waits before reading its next stories.
    async fn the_index_knows_when_readers_wait_for_a_page_being_made(db) {
        let (app, _dir) = with_index(db).await;
        let index = app.state.search.clone().expect("an index");
        assert!(!index.readers_busy(), "no page is being made");
        let turn = app.state.pages.render_turn("/en/news/84427").await;
        assert!(index.readers_busy(), "a page is being made");
        drop(turn);
        assert!(!index.readers_busy(), "made");
        // Pages made through the router hand their turns back too.
        assert_eq!(app.get("/").await.status, StatusCode::OK);
        assert!(!index.readers_busy());
        assert_eq!(reindex_all(&index, &app.db.store).await.expect("rebuild"), index.len());
    }
}

backend_test! {
    async fn search_page_finds_the_seed_with_marked_words(db) {
        let (app, _dir) = with_index(db).await;
        let a = app.get("/search?q=defence+OR+defense+ministry").await;
        assert_eq!(a.status, StatusCode::OK);
        let main = main_of(&a.body);
        assert!(main.contains(&format!("<a href=\"{SEED_PATH}\"><mark>Defense</mark> <mark>Ministry</mark>")), "{main}");
        assert!(main.contains("1 story found."), "{main}");
        assert!(main.contains("<time datetime=\"2023-11-15T14:37:00+03:30\">15 November 2023 - 14:37</time>"), "{main}");
        assert!(a.body.contains("<meta name=\"robots\" content=\"noindex\">"));
        assert!(a.body.contains("<option value=\"iran\">Iran</option>"), "section filter lists the sections");
        // The chrome slots are filled as on every page.
        assert!(!a.body.contains("<!--nd:slot:"));
    }
}

backend_test! {
    async fn snippets_show_the_passage_of_the_body_read_from_the_database(db) {
        // The index does not keep bodies: the passage comes from the story in the database.
        let (app, _dir) = with_index(db).await;
        let a = app.get("/search?q=Farahi").await;
        assert_eq!(a.status, StatusCode::OK);
        let main = main_of(&a.body);
        assert!(main.contains("Brigadier General Mehdi <mark>Farahi</mark> made the remarks"), "{main}");
        let api = app.get("/api/v1/search?q=Farahi").await;
        assert!(api.body.contains("Mehdi <mark>Farahi</mark> made"), "{}", api.body);
    }
}

backend_test! {
    async fn filters_narrow_and_nothing_found_offers_help(db) {
        let (app, _dir) = with_index(db).await;
        let in_section = app.get("/search?q=military&section=iran").await;
        assert!(main_of(&in_section.body).contains(SEED_PATH));
        let before = app.get("/search?q=military&to=2023-11-14").await;
        let main = main_of(&before.body);
        assert_eq!(before.status, StatusCode::OK);
        assert!(main.contains("Nothing found for “military” with these filters."), "{main}");
        assert!(main.contains("<a href=\"/search?q=military\">Search all sections and dates</a>"), "{main}");
        let on_the_day = app.get("/search?q=military&from=2023-11-15&to=2023-11-15").await;
        assert!(main_of(&on_the_day.body).contains(SEED_PATH));
        let none = app.get("/search?q=zzzzqqq").await;
        assert!(main_of(&none.body).contains("Check the spelling"));
        assert!(main_of(&none.body).contains("<a href=\"/section/iran\">Iran</a>"), "browse links");
    }
}

backend_test! {
    async fn reader_input_is_escaped_and_bad_parameters_are_400(db) {
        let (app, _dir) = with_index(db).await;
        let a = app.get("/search?q=%3Cscript%3Ealert(1)%3C%2Fscript%3E").await;
        assert_eq!(a.status, StatusCode::OK);
        assert!(!a.body.contains("<script>alert"), "query echoed unescaped");
        assert!(a.body.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        for bad in ["/search?q=x&from=soon", "/search?q=x&page=0", "/search?q=x&from=2024-01-02&to=2024-01-01"] {
            let a = app.get(bad).await;
            assert_eq!(a.status, StatusCode::BAD_REQUEST, "{bad}");
        }
        let empty = app.get("/search").await;
        assert_eq!(empty.status, StatusCode::OK);
        assert!(main_of(&empty.body).contains("Type one or more words."));
    }
}

backend_test! {
    async fn results_are_paged(db) {
        let (app, _dir) = with_index(db).await;
        for i in 0..12 {
            app.add_at(&["Iran"], &format!("Drought report number {i}"), seed_time() + Duration::hours(i)).await;
        }
        let index = app.state.search.clone().expect("index");
        reindex_all(&index, &app.db.store).await.expect("rebuild");
        let first = app.get("/search?q=drought").await;
        let main = main_of(&first.body);
        assert!(main.contains("12 stories found."), "{main}");
        assert!(main.contains("<a href=\"/search?q=drought&amp;page=2\" rel=\"next\">Next</a>"), "{main}");
        let second = app.get("/search?q=drought&page=2").await;
        let main = main_of(&second.body);
        assert_eq!(main.matches("class=\"search-hit\"").count(), 2, "{main}");
        assert!(main.contains("rel=\"prev\">Previous</a>"), "{main}");
    }
}

backend_test! {
    async fn api_answers_json(db) {
        let (app, _dir) = with_index(db).await;
        let a = app.get("/api/v1/search?q=military+technologies").await;
        assert_eq!(a.status, StatusCode::OK);
        let v: serde_json::Value = serde_json::from_str(&a.body).expect("json");
        assert_eq!(v["total"], 1);
        assert_eq!(v["edition"], "en");
        assert_eq!(v["items"][0]["news_id"], 84427);
        assert_eq!(v["items"][0]["url"], format!("https://news.example{SEED_PATH}"));
        assert_eq!(v["items"][0]["published"], "2023-11-15T14:37:00+03:30");
        assert_eq!(v["items"][0]["section"], "iran");
        for (uri, status, code) in [
            ("/api/v1/search", StatusCode::BAD_REQUEST, "bad_request"),
            ("/api/v1/search?q=x&page=x", StatusCode::BAD_REQUEST, "bad_request"),
            ("/api/v1/search?q=x&edition=zz", StatusCode::NOT_FOUND, "not_found"),
        ] {
            let a = app.get(uri).await;
            assert_eq!(a.status, status, "{uri}");
            let v: serde_json::Value = serde_json::from_str(&a.body).expect("json");
            assert_eq!(v["error"]["code"], code, "{uri}");
        }
    }
}

backend_test! {
    async fn without_an_index_search_says_it_is_unavailable(db) {
        let app = TestApp::new(db).await;
        let page = app.get("/search?q=military").await;
        assert_eq!(page.status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(main_of(&page.body).contains("Search is not available"));
        let api = app.get("/api/v1/search?q=military").await;
        assert_eq!(api.status, StatusCode::SERVICE_UNAVAILABLE);
    }
}
