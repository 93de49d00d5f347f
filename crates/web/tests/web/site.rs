//! The reader site through the real router, on SQLite and on PostgreSQL.

use std::io::Read;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use chrono::Utc;
use http_body_util::BodyExt;
use newsdesk_domain::{StoryStatus, dates};
use newsdesk_storage::{SectionRef, StoryInput, backend_test};
use tower::ServiceExt;

use crate::common;

use common::{SEED_PATH, TestApp, main_of};

backend_test! {
    async fn story_page_shows_every_element_of_the_seed(db) {
        let app = TestApp::new(db).await;
        let a = app.get(SEED_PATH).await;
        assert_eq!(a.status, StatusCode::OK);
        let b = &a.body;
        assert!(b.starts_with("<!DOCTYPE html>\n<html lang=\"en\" dir=\"ltr\">"));
        assert!(b.contains("<h1>Defense Ministry: Iran Gaining Access to Modern Military Technologies as Exports Booming</h1>"));
        assert!(b.contains("<p class=\"lead\">Iran’s Defense Ministry is moving towards manufacturing"));
        assert!(b.contains("News ID: <span class=\"news-id\">84427</span>"));
        assert!(b.contains("Publish Date: <time datetime=\"2023-11-15T14:37:00+03:30\">15 November 2023 - 14:37</time>"));
        assert!(b.contains("Updated in: <time datetime=\"2023-11-15T14:37:00+03:30\">15 November 2023 - 14:37</time>"));
        assert!(b.contains("<li><a href=\"/section/iran\">Iran</a></li>"), "breadcrumb");
        assert!(b.contains("<p>Iranian Deputy Defense Minister Brigadier General Mehdi Farahi made the remarks"));
        assert!(!b.contains("BoomingIranian"), "the photo's alt text is not glued to the body");
        assert!(b.contains("will never be subject to negotiation.</p>"));
        assert!(!b.contains("your comment"));
        assert!(b.contains("By <a rel=\"author\" href=\"/author/jane-reporter\">Jane Reporter</a>"));
        assert!(b.contains("<a href=\"/tag/defense\" rel=\"tag\">Defense</a>"));
        assert!(b.contains(&format!("<link rel=\"canonical\" href=\"https://news.example{SEED_PATH}\">")));
        assert!(b.contains("<meta name=\"description\" content=\"Iran’s Defense Ministry"));
        assert!(b.contains("<meta property=\"og:type\" content=\"article\">"));
        assert!(b.contains("<meta name=\"twitter:card\""));
        let ld_start = b.find("<script type=\"application/ld+json\">").expect("json-ld") + 35;
        let ld_end = b[ld_start..].find("</script>").expect("end") + ld_start;
        let ld: serde_json::Value = serde_json::from_str(&b[ld_start..ld_end]).expect("valid JSON-LD");
        assert_eq!(ld["@type"], "NewsArticle");
        assert_eq!(ld["datePublished"], "2023-11-15T14:37:00+03:30");
        assert_eq!(ld["dateModified"], "2023-11-15T14:37:00+03:30");
        assert_eq!(ld["author"][0]["name"], "Jane Reporter");
        assert_eq!(ld["publisher"]["name"], "Test Agency");
        assert!(ld["image"][0].as_str().is_some_and(|s| s.starts_with("https://news.example/")));
        assert_eq!(a.headers[header::CONTENT_TYPE], "text/html; charset=utf-8");
    }
}

backend_test! {
    async fn short_and_wrong_slug_urls_redirect_permanently(db) {
        let app = TestApp::new(db).await;
        for uri in ["/news/84427", "/news/84427/wrong-slug"] {
            let a = app.get(uri).await;
            assert_eq!(a.status, StatusCode::MOVED_PERMANENTLY, "{uri}");
            assert_eq!(a.headers[header::LOCATION], SEED_PATH);
        }
    }
}

backend_test! {
    async fn unknown_pages_and_news_ids_answer_a_real_404_page(db) {
        let app = TestApp::new(db).await;
        for uri in ["/news/99999", "/news/99999/x", "/news/abc", "/news/-1", "/nothing-here", "/section/nope", "/tag/nope", "/author/nope", "/archive/2023/02/30", "/media/zz.jpg"] {
            let a = app.get(uri).await;
            assert_eq!(a.status, StatusCode::NOT_FOUND, "{uri}");
            assert!(a.body.contains("<h1>Page not found</h1>"), "{uri}: {}", a.body);
            assert!(a.body.starts_with("<!DOCTYPE html>"));
            assert_eq!(a.headers[header::CACHE_CONTROL], "no-store");
        }
    }
}

backend_test! {
    async fn unpublished_story_answers_410(db) {
        let app = TestApp::new(db).await;
        assert_eq!(app.get(SEED_PATH).await.status, StatusCode::OK);
        app.db.store.set_story_status(84427, StoryStatus::Unpublished).await.expect("unpublish");
        app.sync().await;
        let a = app.get(SEED_PATH).await;
        assert_eq!(a.status, StatusCode::GONE);
        assert!(a.body.contains("This story has been withdrawn"));
        assert_eq!(app.get("/news/84427").await.status, StatusCode::GONE);
        let home = app.get("/").await;
        assert!(!home.body.contains("Defense Ministry: Iran Gaining"), "withdrawn story leaves the home page and the Latest box");
    }
}

backend_test! {
    async fn conditional_requests_answer_304(db) {
        let app = TestApp::new(db).await;
        let a = app.get(SEED_PATH).await;
        let etag = a.headers[header::ETAG].to_str().expect("etag").to_string();
        let lm = a.headers[header::LAST_MODIFIED].to_str().expect("last-modified").to_string();
        assert!(a.headers[header::CACHE_CONTROL].to_str().expect("cc").contains("max-age"));
        let req = Request::get(SEED_PATH).header(header::IF_NONE_MATCH, &etag).body(Body::empty()).expect("req");
        let b = app.request(req).await;
        assert_eq!(b.status, StatusCode::NOT_MODIFIED);
        assert!(b.body.is_empty());
        let req = Request::get(SEED_PATH).header(header::IF_MODIFIED_SINCE, &lm).body(Body::empty()).expect("req");
        assert_eq!(app.request(req).await.status, StatusCode::NOT_MODIFIED);
        let req = Request::get(SEED_PATH).header(header::IF_NONE_MATCH, "\"other\"").body(Body::empty()).expect("req");
        assert_eq!(app.request(req).await.status, StatusCode::OK);
        // Each encoding has its own validator, the same at every request; any
        // of them matches, weak or in a list.
        let gzip = || Request::get(SEED_PATH).header(header::ACCEPT_ENCODING, "gzip").body(Body::empty()).expect("req");
        let gz = app.request(gzip()).await.headers[header::ETAG].to_str().expect("etag").to_string();
        assert_ne!(gz, etag);
        assert_eq!(app.request(gzip()).await.headers[header::ETAG].to_str().expect("etag"), gz);
        let list = format!("\"other\", W/{gz}");
        let req = Request::get(SEED_PATH).header(header::IF_NONE_MATCH, &list).body(Body::empty()).expect("req");
        assert_eq!(app.request(req).await.status, StatusCode::NOT_MODIFIED);
        // A change to the story changes the validator.
        let mut story = app.db.store.story(84427).await.expect("load").expect("exists");
        story.lead = "Changed lead.".into();
        app.db.store.save_story(&StoryInput {
            news_id: Some(84427), edition_id: story.edition_id, section: SectionRef::Id(story.section_id), slug: Some(story.slug.clone()),
            headline: story.headline.clone(), lead: story.lead.clone(), body_source: story.body_source.clone(), body_format: story.body_format,
            photo_id: None, status: story.status, published_at: story.published_at, tags: vec!["Defense".into()], authors: vec!["Jane Reporter".into()], agency: None, actor: "test".into(),
            gallery_id: None,
        }).await.expect("save");
        app.sync().await;
        let req = Request::get(SEED_PATH).header(header::IF_NONE_MATCH, &etag).body(Body::empty()).expect("req");
        let c = app.request(req).await;
        assert_eq!(c.status, StatusCode::OK);
        assert!(c.body.contains("Changed lead."));
        // Edited after publishing: the page says so, and JSON-LD's dateModified moves.
        assert!(c.body.contains("<li>Updated: <time datetime=\""), "Updated line");
        assert!(!c.body.contains("\"dateModified\":\"2023-11-15T14:37:00+03:30\""));
        assert!(c.body.contains("\"datePublished\":\"2023-11-15T14:37:00+03:30\""));
    }
}

backend_test! {
    async fn head_and_compression_work(db) {
        let app = TestApp::new(db).await;
        let full = app.get(SEED_PATH).await;
        let head = app.request(Request::head(SEED_PATH).body(Body::empty()).expect("req")).await;
        assert_eq!(head.status, StatusCode::OK);
        assert!(head.body.is_empty());
        let req = Request::get(SEED_PATH).header(header::ACCEPT_ENCODING, "gzip").body(Body::empty()).expect("req");
        let res = app.router().oneshot(req).await.expect("infallible");
        assert_eq!(res.headers()[header::CONTENT_ENCODING], "gzip");
        assert_eq!(res.headers()[header::VARY], "Accept-Encoding");
        let bytes = res.into_body().collect().await.expect("body").to_bytes();
        let mut text = String::new();
        flate2::read::GzDecoder::new(&bytes[..]).read_to_string(&mut text).expect("gunzip");
        assert_eq!(text, full.body);
        let req = Request::get(SEED_PATH).header(header::ACCEPT_ENCODING, "gzip, br").body(Body::empty()).expect("req");
        let res = app.router().oneshot(req).await.expect("infallible");
        assert_eq!(res.headers()[header::CONTENT_ENCODING], "br");
        let req = Request::get("/static/site.css").header(header::ACCEPT_ENCODING, "gzip").body(Body::empty()).expect("req");
        let res = app.router().oneshot(req).await.expect("infallible");
        assert_eq!(res.headers()[header::CONTENT_ENCODING], "gzip");
    }
}

backend_test! {
    async fn security_headers_and_405(db) {
        let app = TestApp::new(db).await;
        let a = app.get("/").await;
        let csp = a.headers[header::CONTENT_SECURITY_POLICY].to_str().expect("csp");
        assert!(csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"));
        assert_eq!(a.headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
        assert_eq!(a.headers[header::REFERRER_POLICY], "strict-origin-when-cross-origin");
        assert_eq!(a.headers["x-frame-options"], "DENY");
        let post = app.request(Request::post(SEED_PATH).body(Body::empty()).expect("req")).await;
        assert_eq!(post.status, StatusCode::METHOD_NOT_ALLOWED);
        assert!(post.body.contains("Method not allowed"));
        assert!(post.headers.contains_key(header::ALLOW));
        // Error pages carry them too.
        assert_eq!(post.headers["x-frame-options"], "DENY");
        assert_eq!(post.headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
        assert!(post.headers.contains_key(header::CONTENT_SECURITY_POLICY));
    }
}

backend_test! {
    async fn a_story_page_lists_its_sections_stories_before_it(db) {
        // Below the story: its section's published stories before it, newest
        // first, each a headline linked to its page with its date; not the
        // newer ones, not other sections', not drafts.
        let app = TestApp::new(db).await;
        let oldest = app.add_story(&["World"], "Oldest world story", -240).await;
        let older = app.add_story(&["World"], "Older <b>\"world\"</b> story", -120).await;
        app.add_story(&["Iran"], "An Iran story meanwhile", -60).await;
        let story = app.add_story(&["World"], "The world story", 0).await;
        app.add_story(&["World"], "A newer world story", 60).await;
        let store = &app.db.store;
        let load = |id| async move { store.story(id).await.expect("load").expect("exists") };
        let draft = load(app.add_story(&["World"], "A world draft", -30).await).await;
        assert!(app.db.store.set_story_status(draft.news_id, StoryStatus::Draft).await.expect("draft"));
        app.sync().await;
        let page = app.get(&load(story).await.path()).await;
        assert_eq!(page.status, StatusCode::OK);
        let list = page.body.split("<section class=\"related\"").nth(1).expect("the list").split("</section>").next().expect("its end");
        let zone = app.db.store.default_edition().await.expect("edition").expect("exists").time_zone;
        let mut at = 0;
        for id in [older, oldest] {
            let s = load(id).await;
            let link = format!("<a href=\"{}\">", s.path());
            let found = list[at..].find(&link).unwrap_or_else(|| panic!("{} after {at} in {list}", s.path())) + at;
            let iso = dates::iso8601(s.published_at.expect("published"), zone);
            assert!(list[found..].contains(&format!("<time datetime=\"{iso}\">")), "{iso} in {list}");
            at = found + link.len();
        }
        assert!(list.contains("Older &lt;b&gt;&quot;world&quot;"), "{list}");
        assert!(!list.contains("<b>"), "{list}");
        for absent in ["The world story", "A newer world story", "An Iran story", "A world draft"] {
            assert!(!list.contains(absent), "{absent} in {list}");
        }
        // A linked story retitled (a new slug too): the cached page drops and lists it anew.
        let s = load(oldest).await;
        app.db.store.save_story(&StoryInput {
            news_id: Some(oldest), edition_id: s.edition_id, section: SectionRef::Id(s.section_id), slug: None,
            headline: "Oldest world story, retitled".into(), lead: s.lead.clone(), body_source: s.body_source.clone(), body_format: s.body_format,
            photo_id: None, status: s.status, published_at: s.published_at, tags: Vec::new(), authors: Vec::new(), agency: None, actor: "test".into(),
            gallery_id: None,
        }).await.expect("retitle");
        app.sync().await;
        let retitled = load(oldest).await;
        assert_ne!(retitled.path(), s.path(), "a new slug");
        let page = app.get(&load(story).await.path()).await;
        assert!(page.body.contains(&format!("<a href=\"{}\">Oldest world story, retitled</a>", retitled.path())), "{}", page.body);
        assert!(!page.body.contains(&format!("href=\"{}\"", s.path())), "the old link is gone");
    }
}

backend_test! {
    async fn a_change_drops_only_the_pages_that_show_the_story(db) {
        let app = TestApp::new(db).await;
        let other = app.add_story(&["World"], "Unrelated world story", 60).await;
        let other_path = app.db.store.story(other).await.expect("load").expect("exists").path();
        app.sync().await;
        for uri in [SEED_PATH, other_path.as_str(), "/", "/section/world", "/section/iran"] {
            assert_eq!(app.get(uri).await.status, StatusCode::OK, "{uri}");
            assert!(app.state.pages.get(uri).is_some(), "{uri} is cached");
        }
        // Publishing a new story in Iran: the Iran section and home change, the World pages and the seed story do not.
        let new_id = app.add_story(&["Iran"], "Fresh Iran story", 120).await;
        app.sync().await;
        assert!(app.state.pages.get("/").is_none());
        assert!(app.state.pages.get("/section/iran").is_none());
        assert!(app.state.pages.get("/section/world").is_some());
        assert!(app.state.pages.get(SEED_PATH).is_some());
        assert!(app.state.pages.get(other_path.as_str()).is_some());
        let home = app.get("/").await;
        assert!(home.body.contains("Fresh Iran story"));
        // The header's "Updated in" follows the newest publish on every page, cached or not.
        let new_time = app.db.store.story(new_id).await.expect("load").expect("exists").published_at.expect("published");
        let stamp = dates::format_long(new_time, chrono_tz::Asia::Tehran);
        assert!(app.get(&other_path).await.body.contains(&format!("Updated in: <time datetime=\"{}\">{stamp}</time>", dates::iso8601(new_time, chrono_tz::Asia::Tehran))));
        assert!(app.state.pages.get(other_path.as_str()).is_some(), "still served from the cache");
    }
}

backend_test! {
    async fn section_pages_page_by_keyset(db) {
        let app = TestApp::new(db).await;
        for i in 0..24 {
            app.add_story(&["Iran", "Defense"], &format!("Defense story {i:02}"), i + 1).await;
        }
        let first = app.get("/section/iran/defense").await;
        assert_eq!(first.status, StatusCode::OK);
        assert!(first.body.contains("Defense story 23"));
        assert!(!first.body.contains("Defense story 03"));
        assert_eq!(first.body.matches("<article class=\"teaser\">").count(), 20);
        let start = first.body.find("/section/iran/defense?before=").expect("older link");
        let end = first.body[start..].find('"').expect("quote") + start;
        let next = first.body[start..end].replace("&amp;", "&");
        let second = app.get(&next).await;
        assert_eq!(second.status, StatusCode::OK);
        assert_eq!(second.body.matches("<article class=\"teaser\">").count(), 4);
        assert!(second.body.contains("Defense story 00"));
        assert!(!second.body.contains("rel=\"next\""));
        // The parent section lists its children's stories too, and shows the child.
        let parent = app.get("/section/iran").await;
        assert!(parent.body.contains("Defense story 23"));
        assert!(parent.body.contains("<a href=\"/section/iran/defense\">Defense</a>"));
        assert_eq!(app.get("/section/iran?before=garbage").await.status, StatusCode::BAD_REQUEST);
    }
}

backend_test! {
    async fn tag_author_and_archive_pages_list_stories(db) {
        let app = TestApp::new(db).await;
        app.add_story(&["World"], "Tagged story", 30).await;
        let tag = app.get("/tag/synthetic").await;
        assert_eq!(tag.status, StatusCode::OK);
        assert!(main_of(&tag.body).contains("Tagged story") && !main_of(&tag.body).contains("Defense Ministry: Iran Gaining"));
        let author = app.get("/author/jane-reporter").await;
        assert!(main_of(&author.body).contains("Defense Ministry: Iran Gaining") && !main_of(&author.body).contains("Tagged story"));
        let day = app.get("/archive/2023/11/15").await;
        assert_eq!(day.status, StatusCode::OK);
        assert!(day.body.contains("Defense Ministry: Iran Gaining") && day.body.contains("Tagged story"));
        assert!(day.body.contains("/archive/2023/11/14"));
        let empty = app.get("/archive/2023/11/16").await;
        assert!(main_of(&empty.body).contains("No stories here yet."));
    }
}

backend_test! {
    async fn home_page_has_top_story_and_section_blocks(db) {
        let app = TestApp::new(db).await;
        app.add_story(&["World"], "Newest world story", 90).await;
        let home = app.get("/").await;
        assert_eq!(home.status, StatusCode::OK);
        let top = home.body.find("class=\"top-story\"").expect("top story");
        assert!(home.body[top..].find("Newest world story").is_some_and(|i| i < 1200));
        assert!(home.body.contains("<h2 id=\"block-1\"><a href=\"/section/iran\">Iran</a></h2>"));
        assert!(home.body.contains("<a href=\"/section/world\">World</a>"));
        assert!(home.body.contains("<link rel=\"canonical\" href=\"https://news.example/\">"));
    }
}

backend_test! {
    async fn health_checks_answer(db) {
        let app = TestApp::new(db).await;
        assert_eq!(app.get("/healthz").await.status, StatusCode::OK);
        assert_eq!(app.get("/readyz").await.status, StatusCode::OK);
    }
}

fn reader_get(uri: &str, ua: &str) -> Request<Body> {
    Request::get(uri).header(header::USER_AGENT, ua).body(Body::empty()).expect("request")
}

backend_test! {
    async fn story_views_feed_the_most_visited_box_page_and_api(db) {
        let app = TestApp::new(db).await;
        let other = app.add_story(&["World"], "Second story", 60).await;
        let other_path = app.db.store.story(other).await.expect("load").expect("exists").path();
        let (a, b, c) = ("Mozilla/5.0 (X11) Firefox/120", "Mozilla/5.0 (iPhone) Safari", "Mozilla/5.0 (Windows) Edge");
        for req in [
            reader_get(&other_path, a),
            reader_get(&other_path, b),
            reader_get(&other_path, a), // the same reader again: not counted
            reader_get(SEED_PATH, a),
            reader_get(SEED_PATH, "Mozilla/5.0 (compatible; Googlebot/2.1)"),
            Request::head(SEED_PATH).header(header::USER_AGENT, c).body(Body::empty()).expect("head"),
            Request::get(SEED_PATH).header(header::USER_AGENT, c).header("sec-purpose", "prefetch").body(Body::empty()).expect("prefetch"),
        ] {
            assert!(app.request(req).await.status.is_success());
        }
        app.state.views.flush(&app.db.store, Utc::now()).await.expect("flush");
        let api = app.get("/api/v1/most-visited?window=24h").await;
        assert_eq!(api.status, StatusCode::OK);
        let json: serde_json::Value = serde_json::from_str(&api.body).expect("json");
        assert_eq!(json["window"], "24h");
        let items: Vec<(i64, i64)> = json["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|i| (i["news_id"].as_i64().expect("id"), i["views"].as_i64().expect("views")))
            .collect();
        assert_eq!(items, [(other, 2), (84427, 1)]);
        assert_eq!(json["items"][0]["url"], format!("https://news.example{other_path}"));
        let world = app.get("/api/v1/most-visited?section=world").await;
        assert!(world.body.contains("Second story") && !world.body.contains("84427"));
        for (uri, status, code) in [
            ("/api/v1/most-visited?window=1y", StatusCode::BAD_REQUEST, "bad_request"),
            ("/api/v1/most-visited?limit=0", StatusCode::BAD_REQUEST, "bad_request"),
            ("/api/v1/most-visited?section=nope", StatusCode::NOT_FOUND, "not_found"),
            ("/api/v1/most-visited?bogus=1", StatusCode::BAD_REQUEST, "bad_request"),
        ] {
            let e = app.get(uri).await;
            assert_eq!(e.status, status, "{uri}");
            let json: serde_json::Value = serde_json::from_str(&e.body).expect("json error");
            assert_eq!(json["error"]["code"], code, "{uri}");
        }
        // The box on every page (rebuilt at least every minute; here at once).
        app.state.chrome.invalidate_all();
        let home = app.get("/").await;
        let boxed = home.body.find("Most visited</h2>").expect("most visited box");
        let first = home.body[boxed..].find("Second story").expect("ranked");
        let second = home.body[boxed..].find("Defense Ministry").expect("ranked");
        assert!(first < second);
        let page = app.get("/most-visited?window=7d").await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(page.body.contains("2 views") && page.body.contains("1 view<"));
        assert_eq!(app.get("/most-visited?window=2d").await.status, StatusCode::BAD_REQUEST);
    }
}

backend_test! {
    async fn a_tag_or_byline_only_on_unpublished_stories_is_not_found(db) {
        let app = TestApp::new(db).await;
        let draft = |status: StoryStatus, published_at: Option<chrono::DateTime<chrono::Utc>>| StoryInput {
            news_id: None,
            edition_id: app.edition_id,
            section: SectionRef::Names(vec!["World".into()]),
            slug: None,
            headline: "Embargoed deal signed".into(),
            lead: "Not yet public.".into(),
            body_source: "Body.".into(),
            body_format: newsdesk_domain::BodyFormat::Markdown,
            photo_id: None,
            gallery_id: None,
            status,
            published_at,
            tags: vec!["Secret Merger".into()],
            authors: vec!["Hidden Byline".into()],
            agency: None,
            actor: "test".into(),
        };
        let (id, _) = app.db.store.save_story(&draft(StoryStatus::Draft, None)).await.expect("draft");
        let later = chrono::Utc::now() + chrono::Duration::hours(2);
        app.db.store.save_story(&draft(StoryStatus::Scheduled, Some(later))).await.expect("scheduled");
        for path in ["/tag/secret-merger", "/author/hidden-byline", "/tag/secret-merger/feed.rss", "/tag/secret-merger/feed.json"] {
            let a = app.get(path).await;
            assert_eq!(a.status, StatusCode::NOT_FOUND, "{path}");
            assert!(!a.body.contains("Secret Merger") && !a.body.contains("Hidden Byline"), "{path} names it");
        }
        // Once a story carrying them is published, they are public.
        let mut input = draft(StoryStatus::Published, Some(chrono::Utc::now()));
        input.news_id = Some(id);
        app.db.store.save_story(&input).await.expect("published");
        app.sync().await;
        for path in ["/tag/secret-merger", "/author/hidden-byline", "/tag/secret-merger/feed.rss"] {
            assert_eq!(app.get(path).await.status, StatusCode::OK, "{path}");
        }
    }
}

backend_test! {
    async fn readers_that_find_no_shared_fragments_build_them_once(db) {
        let app = TestApp::new(db).await;
        // Nothing built yet, as at a start or after a site-wide change.
        app.state.apply_site_change();
        let before = app.state.chrome.builds();
        let (a, b, c, d, e, f) = tokio::join!(
            app.get("/"),
            app.get(SEED_PATH),
            app.get("/section/iran"),
            app.get("/section/world"),
            app.get(SEED_PATH),
            app.get("/"),
        );
        for answer in [a, b, c, d, e, f] {
            assert!(answer.status == StatusCode::OK || answer.status == StatusCode::NOT_FOUND, "{}", answer.status);
        }
        assert_eq!(app.state.chrome.builds() - before, 1, "every reader built the sidebar fragments");
    }
}

backend_test! {
    /// A story page not yet cached is read on one connection of the pool: it
    /// renders with every other connection held, also when the sections must
    /// be read again. (A render holding one connection and waiting for a
    /// second would wait for good once every connection is held so.)
    async fn a_story_page_not_yet_cached_is_read_on_one_connection(db) {
        let app = TestApp::new(db).await;
        let max = app.state.store.pool_stats().max;
        let mut held = Vec::new();
        for _ in 1..max {
            held.push(app.state.store.reads().await.expect("a connection"));
        }
        // Nothing cached: the page and the sections are read again.
        app.state.apply_site_change();
        let page = tokio::time::timeout(std::time::Duration::from_secs(5), app.get(SEED_PATH))
            .await
            .expect("the page answers while every other connection is held");
        assert_eq!(page.status, StatusCode::OK);
        assert!(page.body.contains(common::SEED_HEADLINE), "the seed story's page");
        assert!(page.body.contains("Defense"), "its tag, read on the same connection");
        drop(held);
    }
}

backend_test! {
    /// A server builds the shared fragments before its first reader: the
    /// first pages after a start then build none.
    async fn fragments_built_ahead_spare_the_first_readers(db) {
        let app = TestApp::new(db).await;
        app.state.apply_site_change();
        let before = app.state.chrome.builds();
        newsdesk_web::warm_fragments(&app.state).await;
        assert_eq!(app.state.chrome.builds() - before, 1, "one edition, built once");
        let (home, story) = tokio::join!(app.get("/"), app.get(SEED_PATH));
        assert_eq!((home.status, story.status), (StatusCode::OK, StatusCode::OK));
        assert!(story.body.contains("class=\"box latest\""), "the fragments are on the page");
        assert_eq!(app.state.chrome.builds() - before, 1, "a reader built them again");
    }
}

/// What a GET of `uri` with `headers` answers: status, headers, body, and
/// whether it came from the page cache before routing.
pub(crate) async fn fetch(
    app: &TestApp,
    uri: &str,
    headers: &[(header::HeaderName, &str)],
) -> (StatusCode, header::HeaderMap, Vec<u8>, bool) {
    let mut req = Request::get(uri);
    for (name, value) in headers {
        req = req.header(name, *value);
    }
    let res = app.router().oneshot(req.body(Body::empty()).expect("request")).await.expect("infallible");
    let hot = res.extensions().get::<newsdesk_web::BeforeRouting>().is_some();
    let (parts, body) = res.into_parts();
    (parts.status, parts.headers, body.collect().await.expect("body").to_bytes().to_vec(), hot)
}

backend_test! {
    async fn a_page_answered_from_the_cache_before_routing_is_what_its_route_answers(db) {
        // A GET of a cached page skips the router and its layers. It must
        // answer byte for byte what the page's route answers from the same
        // cache entry (a query string the page ignores takes the route).
        let app = TestApp::new(db).await;
        let pages = [SEED_PATH, "/", "/section/iran", "/section/iran/feed.atom", "/tag/defense",
            "/author/jane-reporter", "/feed.rss", "/feed.json", "/sitemap.xml", "/corrections"];
        for path in pages {
            let first = fetch(&app, path, &[]).await;
            assert_eq!(first.0, StatusCode::OK, "{path}");
            assert!(!first.3, "{path}: the first GET renders it through its route");
            let routed_uri = format!("{path}?utm_source=test");
            for encodings in [None, Some("gzip"), Some("gzip, deflate, br"), Some("deflate"), Some("br;q=0, gzip")] {
                let asked: Vec<(header::HeaderName, &str)> =
                    encodings.map(|e| (header::ACCEPT_ENCODING, e)).into_iter().collect();
                let hot = fetch(&app, path, &asked).await;
                let routed = fetch(&app, &routed_uri, &asked).await;
                assert!(hot.3, "{path} {encodings:?}: answered before routing");
                assert!(!routed.3, "{path} {encodings:?}: with a query string, through the route");
                assert_eq!((hot.0, &hot.1), (routed.0, &routed.1), "{path} {encodings:?}");
                assert!(hot.2 == routed.2, "{path} {encodings:?}: the same body");
                for name in ["x-frame-options", "x-content-type-options", "referrer-policy", "content-security-policy", "etag"] {
                    assert!(hot.1.contains_key(name), "{path}: {name}");
                }
                // The same page again, asked conditionally: 304 both ways.
                let etag = hot.1[header::ETAG].to_str().expect("etag").to_string();
                let conditional: Vec<(header::HeaderName, &str)> =
                    asked.iter().cloned().chain([(header::IF_NONE_MATCH, etag.as_str())]).collect();
                let hot = fetch(&app, path, &conditional).await;
                let routed = fetch(&app, &routed_uri, &conditional).await;
                assert_eq!(hot.0, StatusCode::NOT_MODIFIED, "{path} {encodings:?}");
                assert!(hot.3 && !routed.3);
                assert_eq!((hot.0, &hot.1), (routed.0, &routed.1), "{path} {encodings:?} (304)");
                assert!(hot.2.is_empty() && routed.2.is_empty(), "{path} {encodings:?}: no body with a 304");
            }
        }
        // What the cache does not answer as it is goes the whole way.
        let notice = fetch(&app, &format!("{SEED_PATH}?comment=pending"), &[]).await;
        assert!(!notice.3 && String::from_utf8_lossy(&notice.2).contains("class=\"notice\""), "a reader's notice");
        let head = app.router().oneshot(Request::head(SEED_PATH).body(Body::empty()).expect("head")).await.expect("ok");
        assert!(head.extensions().get::<newsdesk_web::BeforeRouting>().is_none(), "HEAD is routed");
        assert_eq!(fetch(&app, "/no-such-page", &[]).await.0, StatusCode::NOT_FOUND);
        assert!(!fetch(&app, "/no-such-page", &[]).await.3, "a 404 is not cached");
        // A new story drops the pages it appears on; the next GET renders them again through the route.
        app.add_story(&["Iran"], "Fresh from the desk", 90).await;
        app.sync().await;
        let section = fetch(&app, "/section/iran", &[]).await;
        assert!(!section.3 && String::from_utf8_lossy(&section.2).contains("Fresh from the desk"), "rendered again");
        let again = fetch(&app, "/section/iran", &[]).await;
        assert!(again.3 && again.2 == section.2, "then answered from the cache");
    }
}

/// One request over a new connection to the server at `addr`: the status
/// line and headers (without `date`, which changes), and the body.
async fn over_tcp(addr: std::net::SocketAddr, method: &str, path: &str, extra: &str) -> (Vec<String>, Vec<u8>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut conn = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let req = format!("{method} {path} HTTP/1.1\r\nHost: news.example\r\n{extra}Connection: close\r\n\r\n");
    conn.write_all(req.as_bytes()).await.expect("write");
    let mut got = Vec::new();
    conn.read_to_end(&mut got).await.expect("read");
    let end = got.windows(4).position(|w| w == b"\r\n\r\n").expect("a head") + 4;
    let head = String::from_utf8_lossy(&got[..end]).into_owned();
    let mut lines: Vec<String> = head
        .split("\r\n")
        .filter(|l| !l.is_empty() && !l.to_ascii_lowercase().starts_with("date:"))
        .map(String::from)
        .collect();
    lines[1..].sort();
    (lines, got[end..].to_vec())
}

backend_test! {
    async fn the_server_answers_cached_pages_before_its_router_as_the_router_would(db) {
        // The real server asks the page cache (`newsdesk_web::front`) before the
        // router: a cached page's GET never reaches the router, and its answer
        // (status, headers, HSTS of this https site, body) is the router's.
        let app = TestApp::new(db).await;
        let routed = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let count = routed.clone();
        let router = app.router().layer(axum::middleware::map_request(move |req: Request<Body>| {
            count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            async move { req }
        }));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let server = tokio::spawn(newsdesk_web::server::serve(
            listener,
            router,
            Some(newsdesk_web::front(app.state.clone())),
            newsdesk_web::server::ServerLimits::default(),
            std::future::pending(),
        ));
        let reached = || routed.load(std::sync::atomic::Ordering::SeqCst);
        let hsts = format!("strict-transport-security: {}", newsdesk_web::HSTS);
        for path in [SEED_PATH, "/", "/section/iran", "/feed.rss", "/tag/defense"] {
            let before = reached();
            let first = over_tcp(addr, "GET", path, "").await;
            assert!(first.0[0].starts_with("HTTP/1.1 200"), "{path}: {:?}", first.0);
            assert_eq!(reached(), before + 1, "{path}: the first GET renders it through the router");
            for extra in ["", "Accept-Encoding: gzip\r\n"] {
                let before = reached();
                let hot = over_tcp(addr, "GET", path, extra).await;
                assert_eq!(reached(), before, "{path} {extra:?}: answered before the router");
                let through = over_tcp(addr, "GET", &format!("{path}?utm_source=test"), extra).await;
                assert_eq!(reached(), before + 1, "{path}: a query string takes the router");
                assert_eq!(hot.0, through.0, "{path} {extra:?}: the same status and headers");
                assert!(hot.1 == through.1, "{path} {extra:?}: the same body");
                assert!(hot.0.iter().any(|h| h.eq_ignore_ascii_case(&hsts)), "{path}: HSTS");
            }
        }
        // Another method goes the whole way.
        let before = reached();
        let head = over_tcp(addr, "HEAD", SEED_PATH, "").await;
        assert!(head.0[0].starts_with("HTTP/1.1 200") && head.1.is_empty(), "{:?}", head.0);
        assert_eq!(reached(), before + 1, "HEAD is routed");
        server.abort();
    }
}

backend_test! {
    async fn pages_packed_after_going_unread_are_answered_as_before(db) {
        // Pages unread for a while are kept as their gzip form only; the next
        // reader gets the same bytes, validators and headers, whichever way
        // the request goes, and a conditional request still matches.
        let app = TestApp::new(db).await;
        let pages = [SEED_PATH, "/", "/section/iran", "/feed.rss"];
        let mut before = Vec::new();
        for path in pages {
            let plain = fetch(&app, path, &[]).await;
            let gzip = fetch(&app, path, &[(header::ACCEPT_ENCODING, "gzip")]).await;
            assert_eq!((plain.0, gzip.0), (StatusCode::OK, StatusCode::OK), "{path}");
            before.push((plain, gzip));
        }
        // A page no reader asked in gzip is packed otherwise (LZ4).
        let plain_only = fetch(&app, "/tag/defense", &[]).await;
        assert_eq!(app.state.pages.pack_cold(std::time::Duration::ZERO), pages.len() + 1, "each page packed");
        let again = fetch(&app, "/tag/defense", &[]).await;
        assert_eq!((again.0, &again.1, &again.2), (plain_only.0, &plain_only.1, &plain_only.2), "/tag/defense");
        app.state.pages.pack_cold(std::time::Duration::ZERO);
        for (path, (plain, gzip)) in pages.iter().zip(&before) {
            assert!(app.state.pages.get(path).is_some_and(|p| p.is_packed()), "{path}");
            let routed = format!("{path}?utm_source=test");
            for uri in [path.to_string(), routed] {
                let again = fetch(&app, &uri, &[]).await;
                assert_eq!((again.0, &again.1, &again.2), (plain.0, &plain.1, &plain.2), "{uri}: as before");
                assert!(app.state.pages.pack_cold(std::time::Duration::ZERO) == 1, "{uri}: unpacked to answer");
                let zipped = fetch(&app, &uri, &[(header::ACCEPT_ENCODING, "gzip")]).await;
                assert_eq!((zipped.0, &zipped.1, &zipped.2), (gzip.0, &gzip.1, &gzip.2), "{uri}: gzip as before");
                let mut out = Vec::new();
                flate2::read::GzDecoder::new(&zipped.2[..]).read_to_end(&mut out).expect("gzip");
                assert!(out == plain.2, "{uri}: the gzip form is the page");
                app.state.pages.pack_cold(std::time::Duration::ZERO);
                let etag = plain.1[header::ETAG].to_str().expect("etag");
                let cond = fetch(&app, &uri, &[(header::IF_NONE_MATCH, etag)]).await;
                assert_eq!(cond.0, StatusCode::NOT_MODIFIED, "{uri}: the packed page keeps its ETag");
                app.state.pages.pack_cold(std::time::Duration::ZERO);
            }
        }
        // A packed page is still dropped by a change to what it shows.
        app.add_story(&["Iran"], "Fresh from the desk", 90).await;
        app.sync().await;
        let section = fetch(&app, "/section/iran", &[]).await;
        assert!(String::from_utf8_lossy(&section.2).contains("Fresh from the desk"), "rendered again");
    }
}

backend_test! {
    /// The server's tidy of its database connections: while pages were read
    /// since the last tidy, the connections kept for page reads go back to
    /// the pool and none is closed; once none was read since, SQLite's idle
    /// connections are closed (PostgreSQL's stay: they keep nothing here).
    async fn connections_are_closed_only_after_a_tidy_without_page_reads(db) {
        let app = TestApp::new(db).await;
        let store = &app.state.store;
        let before = store.page_reads();
        // Nothing cached: the page is read from the database.
        app.state.apply_site_change();
        let page = app.get(SEED_PATH).await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(store.page_reads() > before, "the page was read: {} then {}", before, store.page_reads());
        newsdesk_storage::testing::all_idle(store).await;
        assert!(store.spare_connections() > 0, "the page read kept its connection");
        let open = store.pool_stats().size;

        let after = newsdesk_web::tidy_connections(store, before).await;
        assert_eq!(after, store.page_reads(), "the count for the next tidy");
        assert_eq!(store.spare_connections(), 0, "the kept connections went back to the pool");
        newsdesk_storage::testing::all_idle(store).await;
        assert_eq!(store.pool_stats().size, open, "none closed after page reads");

        let last = newsdesk_web::tidy_connections(store, after).await;
        assert_eq!(last, after, "no page read meanwhile");
        newsdesk_storage::testing::all_idle(store).await;
        let left = store.pool_stats().size;
        match store.backend() {
            newsdesk_storage::Backend::Sqlite => assert_eq!(left, 0, "closed after a tidy without page reads"),
            newsdesk_storage::Backend::Postgres => assert_eq!(left, open, "PostgreSQL's stay open"),
        }

        // Pages are read again on connections opened again.
        app.state.apply_site_change();
        let again = app.get(SEED_PATH).await;
        assert_eq!(again.status, StatusCode::OK);
        assert!(again.body.contains(common::SEED_HEADLINE), "the seed story's page");
    }
}

backend_test! {
    /// Tidies every 100 ms while four readers read pages not yet cached: no
    /// tidy closes a connection (the pool never shrinks across one) and every
    /// page answers; once the readers stopped, the second tidy without page
    /// reads closes SQLite's idle connections.
    async fn tidies_among_page_readers_close_nothing(db) {
        use std::sync::Arc;
        use std::sync::atomic::{AtomicBool, Ordering};
        let app = TestApp::new(db).await;
        let store = &app.state.store;
        let stop = Arc::new(AtomicBool::new(false));
        let readers: Vec<_> = (0..4)
            .map(|_| {
                let (state, stop) = (app.state.clone(), stop.clone());
                tokio::spawn(async move {
                    let mut pages = 0u32;
                    while !stop.load(Ordering::Relaxed) {
                        state.apply_site_change();
                        let req = Request::get(SEED_PATH).body(Body::empty()).expect("request");
                        let res = newsdesk_web::app(state.clone()).oneshot(req).await.expect("infallible");
                        assert_eq!(res.status(), StatusCode::OK);
                        pages += 1;
                    }
                    pages
                })
            })
            .collect();
        let mut before = store.page_reads();
        for _ in 0..15 {
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            let open = store.pool_stats().size;
            before = newsdesk_web::tidy_connections(store, before).await;
            assert!(store.pool_stats().size >= open, "a tidy among readers closed connections: {open} then {:?}", store.pool_stats());
        }
        stop.store(true, Ordering::Relaxed);
        for r in readers {
            assert!(r.await.expect("reader") > 0, "every reader read pages");
        }
        newsdesk_storage::testing::all_idle(store).await;
        let open = store.pool_stats().size;
        let after = newsdesk_web::tidy_connections(store, before).await;
        // The kept connections go back to the pool on a task of their own.
        newsdesk_storage::testing::all_idle(store).await;
        newsdesk_web::tidy_connections(store, after).await;
        newsdesk_storage::testing::all_idle(store).await;
        match store.backend() {
            newsdesk_storage::Backend::Sqlite => assert_eq!(store.pool_stats().size, 0, "closed once idle"),
            newsdesk_storage::Backend::Postgres => assert_eq!(store.pool_stats().size, open, "PostgreSQL's stay open"),
        }
    }
}

backend_test! {
    async fn the_server_s_packer_packs_a_page_left_unread(db) {
        // The background task `serve` runs: a page unread for PACK_IDLE is
        // packed within a few seconds more, and answered as before after.
        let app = TestApp::new(db).await;
        let packer = tokio::spawn(newsdesk_web::pack_cold_pages(app.state.clone()));
        let first = fetch(&app, SEED_PATH, &[]).await;
        assert_eq!(first.0, StatusCode::OK);
        let page = app.state.pages.get(SEED_PATH).expect("cached");
        let deadline = std::time::Instant::now() + newsdesk_web::PACK_IDLE * 3;
        while !page.is_packed() {
            assert!(std::time::Instant::now() < deadline, "not packed after {:?}", newsdesk_web::PACK_IDLE * 3);
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
        packer.abort();
        let again = fetch(&app, SEED_PATH, &[]).await;
        assert!(again.3, "answered from the cache");
        assert_eq!((again.0, &again.1, &again.2), (first.0, &first.1, &first.2));
        assert!(!page.is_packed(), "unpacked for the reader");
    }
}
