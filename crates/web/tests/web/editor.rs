//! The story editor's full preview, on SQLite and on PostgreSQL: the text on
//! the screen (not saved) shown on the story's public page (headline, lead,
//! body, dateline), a draft without a publish date of "now", for whoever may
//! open the story; and the editor's toolbar and script in the page.

use axum::http::{StatusCode, header};
use newsdesk_domain::roles::Role;
use newsdesk_storage::backend_test;

use crate::common;
use common::{Person, TestApp};

/// The seed story, published.
const SEED: i64 = 84427;

/// A draft written by `p` through the editor form; its News ID.
async fn draft(app: &TestApp, p: &Person, headline: &str) -> i64 {
    let sections = app.db.store.sections(app.edition_id).await.expect("sections");
    let section = sections.first().expect("the seed's section").id.to_string();
    let answer = app
        .post_as(
            p,
            "/admin/stories",
            &[
                ("headline", headline),
                ("lead", "The stored lead."),
                ("body", "The stored body."),
                ("body_format", "markdown"),
                ("section_id", &section),
                ("authors", "Desk"),
            ],
        )
        .await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "the draft is created: {}", answer.body);
    let location = answer.headers.get(header::LOCATION).expect("redirect").to_str().expect("ascii");
    location.trim_start_matches("/admin/stories/").split('/').next().expect("id").parse().expect("a News ID")
}

backend_test! {
    async fn the_preview_shows_the_unsaved_text_on_the_public_page_and_no_publish_date_for_a_draft(db) {
        let app = TestApp::new(db).await;
        let rita = app.person("Rita Reporter", Role::Reporter).await;
        let id = draft(&app, &rita, "Stored headline").await;
        let version = app.db.store.story(id).await.expect("story").expect("stored").version;
        let answer = app
            .post_as(
                &rita,
                &format!("/admin/stories/{id}/preview"),
                &[
                    ("headline", "Headline typed & not saved"),
                    ("lead", "A lead typed on the screen."),
                    ("body", "Talks **resumed** on Monday.\n\n## What next"),
                    ("body_format", "markdown"),
                    ("located", "VIENNA"),
                    ("action", "save"),
                ],
            )
            .await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
        let page = &answer.body;
        assert!(page.contains("<h1>Headline typed &amp; not saved</h1>"), "the typed headline, escaped");
        assert!(page.contains("<p class=\"lead\">A lead typed on the screen.</p>"), "the typed lead");
        assert!(page.contains("<strong>resumed</strong>"), "the typed body, rendered");
        assert!(page.contains("<h2>What next</h2>"), "its subheading");
        assert!(page.contains("VIENNA"), "the dateline");
        assert!(page.contains("class=\"preview-banner\""), "marked as a preview");
        assert!(page.contains("noindex"), "kept out of search engines");
        assert!(page.contains("Publish Date: not published yet"), "a draft says it is not published");
        assert!(!page.contains("Publish Date: <time"), "no publish date of now");
        // Nothing was saved.
        let stored = app.db.store.story(id).await.expect("story").expect("stored");
        assert_eq!((stored.headline.as_str(), stored.version), ("Stored headline", version));
        // The stored version's preview (a link, no form) says the same about the date.
        let saved = app.get_as(&rita, &format!("/admin/stories/{id}/preview")).await;
        assert_eq!(saved.status, StatusCode::OK);
        assert!(saved.body.contains("<h1>Stored headline</h1>") && saved.body.contains("not published yet"));
    }
}

backend_test! {
    async fn the_preview_is_for_those_who_may_open_the_story_and_checks_its_input(db) {
        let app = TestApp::new(db).await;
        let rita = app.person("Rita Reporter", Role::Reporter).await;
        let rob = app.person("Rob Reporter", Role::Reporter).await;
        let ed = app.person("Ed Editor", Role::Editor).await;
        let id = draft(&app, &rita, "Rita's draft").await;
        let uri = format!("/admin/stories/{id}/preview");
        let form = [("headline", "Secret headline")];
        // Another reporter: refused; an editor: shown.
        let other = app.post_as(&rob, &uri, &form).await;
        assert_eq!(other.status, StatusCode::FORBIDDEN);
        assert!(!other.body.contains("Secret headline"));
        let editor = app.post_as(&ed, &uri, &form).await;
        assert_eq!(editor.status, StatusCode::OK);
        assert!(editor.body.contains("<h1>Secret headline</h1>"));
        // Nobody logged in, or a post from another site (no CSRF token): refused.
        let anonymous = app
            .request(
                axum::http::Request::post(&uri)
                    .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                    .body(axum::body::Body::from("headline=Secret+headline"))
                    .expect("request"),
            )
            .await;
        assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
        let forged = app
            .request(
                axum::http::Request::post(&uri)
                    .header(header::COOKIE, &ed.cookie)
                    .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                    .body(axum::body::Body::from("headline=Secret+headline"))
                    .expect("request"),
            )
            .await;
        assert_eq!(forged.status, StatusCode::FORBIDDEN);
        assert!(!forged.body.contains("Secret headline"));
        // Bad input: a clear 400, not a page.
        let long = "x".repeat(301);
        let answer = app.post_as(&ed, &uri, &[("headline", long.as_str())]).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST);
        assert!(answer.body.contains("The headline is longer than 300 characters."));
        let answer = app.post_as(&ed, &uri, &[("body_format", "docx")]).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST);
        assert!(answer.body.contains("Unknown body format"));
        let answer = app.post_as(&ed, &uri, &[("body", "![Caption](photo:999999 \"Credit\")")]).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "an unknown library photo: {}", answer.body);
        let missing = app.post_as(&ed, "/admin/stories/999999/preview", &form).await;
        assert_eq!(missing.status, StatusCode::NOT_FOUND);
        // A published story's preview keeps its publish date.
        let seed = app.post_as(&ed, &format!("/admin/stories/{SEED}/preview"), &[("headline", "Seed, edited")]).await;
        assert_eq!(seed.status, StatusCode::OK);
        assert!(seed.body.contains("<h1>Seed, edited</h1>") && seed.body.contains("Publish Date: <time"));
    }
}

backend_test! {
    async fn a_new_story_is_previewed_before_its_first_save(db) {
        let app = TestApp::new(db).await;
        let rita = app.person("Rita Reporter", Role::Reporter).await;
        let section = app.db.store.sections(app.edition_id).await.expect("sections")[0].id.to_string();
        let answer = app
            .post_as(
                &rita,
                "/admin/stories/preview",
                &[("headline", "Not yet a story"), ("lead", "Its lead."), ("body", "A *new* body."), ("section_id", &section), ("edition", "en")],
            )
            .await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
        assert!(answer.body.contains("<h1>Not yet a story</h1>") && answer.body.contains("<em>new</em>"));
        assert!(answer.body.contains("not published yet"), "no publish date");
        assert!(!answer.body.contains("News ID:"), "no News ID before there is one");
        assert!(app.db.store.desk_stories(&Default::default(), 0, 100).await.expect("desk").iter().all(|r| r.headline != "Not yet a story"), "nothing saved");
        let unknown = app.post_as(&rita, "/admin/stories/preview", &[("headline", "x"), ("edition", "xx")]).await;
        assert_eq!(unknown.status, StatusCode::BAD_REQUEST, "an unknown edition");
        let page = app.get_as(&rita, "/admin/stories/new").await;
        assert!(page.body.contains("data-src=\"/admin/stories/preview\""), "the new story's editor previews there");
    }
}

backend_test! {
    async fn the_editor_has_its_toolbar_counts_and_script(db) {
        let app = TestApp::new(db).await;
        let rita = app.person("Rita Reporter", Role::Reporter).await;
        let id = draft(&app, &rita, "Toolbar story").await;
        let page = app.get_as(&rita, &format!("/admin/stories/{id}/edit")).await;
        assert_eq!(page.status, StatusCode::OK);
        let body = &page.body;
        assert!(body.contains("role=\"toolbar\" aria-label=\"Formatting\""), "the toolbar, named");
        assert!(body.contains("data-editor-toolbar hidden"), "hidden until the script shows it");
        assert!(body.contains("aria-keyshortcuts=\"Control+B Meta+B\""), "its shortcuts");
        assert!(body.contains("id=\"body-count\""), "the counts");
        assert!(body.contains("data-src=\"/admin/stories/") && body.contains("sandbox=\"allow-same-origin allow-popups"), "the preview frame");
        assert!(body.contains("formaction=\"/admin/stories/") && body.contains("formtarget=\"_blank\""), "the Preview button posts the form");
        let src = body.split("<script src=\"/admin/static/editor.js?v=").nth(1).expect("the editor's script");
        let src = format!("/admin/static/editor.js?v={}", src.split('"').next().expect("quoted"));
        let js = app.get(&src).await;
        assert_eq!(js.status, StatusCode::OK);
        assert!(js.content_type().starts_with("text/javascript"));
        assert!(js.body.contains("htmlToMarkdown"));
    }
}
