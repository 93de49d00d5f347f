//! Feeds (RSS, Atom, JSON Feed), sitemaps and robots.txt through the real
//! router, on SQLite and on PostgreSQL.

use std::io::Read;
use std::str::FromStr;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use chrono::{DateTime, Duration, TimeZone, Utc};
use http_body_util::BodyExt;
use newsdesk_domain::{StoryStatus, dates};
use newsdesk_storage::{SectionRef, StoryInput, backend_test};
use tower::ServiceExt;

use crate::common;

use common::{Answer, NewStory, SEED_HEADLINE, SEED_URL, TestApp};

fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, s).single().expect("time")
}

/// The `<loc>` values of a sitemap or sitemap index.
fn locs(xml: &str) -> Vec<String> {
    xml.split("<loc>").skip(1).filter_map(|p| p.split_once("</loc>").map(|(l, _)| l.to_string())).collect()
}

fn rss(a: &Answer) -> rss::Channel {
    rss::Channel::from_str(&a.body).expect("RSS parses")
}

fn atom(a: &Answer) -> atom_syndication::Feed {
    atom_syndication::Feed::from_str(&a.body).expect("Atom parses")
}

fn json(a: &Answer) -> serde_json::Value {
    serde_json::from_str(&a.body).expect("JSON Feed parses")
}

fn rss_titles(c: &rss::Channel) -> Vec<String> {
    c.items.iter().filter_map(|i| i.title.clone()).collect()
}

backend_test! {
    async fn edition_feeds_list_the_seed_story_in_three_formats(db) {
        let app = TestApp::new(db).await;

        let a = app.get("/feed.rss").await;
        assert_eq!(a.status, StatusCode::OK);
        assert_eq!(a.content_type(), "application/rss+xml; charset=utf-8");
        let c = rss(&a);
        assert_eq!(c.title, "Test Agency");
        assert_eq!(c.link, "https://news.example/");
        assert_eq!(c.language.as_deref(), Some("en"));
        let self_link = &c.atom_ext.as_ref().expect("atom:link").links[0];
        assert_eq!((self_link.rel.as_str(), self_link.href.as_str()), ("self", "https://news.example/feed.rss"));
        assert_eq!(self_link.mime_type.as_deref(), Some("application/rss+xml"));
        let item = &c.items[0];
        assert_eq!(item.title.as_deref(), Some(SEED_HEADLINE));
        assert_eq!(item.link.as_deref(), Some(SEED_URL));
        let guid = item.guid.as_ref().expect("guid");
        assert_eq!((guid.value.as_str(), guid.permalink), ("https://news.example/news/84427", true));
        assert_eq!(item.pub_date.as_deref(), Some("Wed, 15 Nov 2023 14:37:00 +0330"));
        assert!(item.description.as_deref().is_some_and(|d| d.starts_with("Iran’s Defense Ministry is moving")));
        let content = item.content.as_deref().expect("content:encoded");
        assert!(content.starts_with("<p>Iranian Deputy Defense Minister"), "{content}");
        assert!(content.contains("will never be subject to negotiation.</p>"));
        assert_eq!(item.dublin_core_ext.as_ref().expect("dc").creators, ["Jane Reporter"]);
        let cats: Vec<(&str, Option<&str>)> = item.categories.iter().map(|c| (c.name.as_str(), c.domain.as_deref())).collect();
        assert_eq!(cats, [("Iran", Some("https://news.example/section")), ("Defense", Some("https://news.example/tag"))]);
        assert!(item.enclosure.is_none(), "no photo, no enclosure");

        let a = app.get("/feed.atom").await;
        assert_eq!(a.status, StatusCode::OK);
        assert_eq!(a.content_type(), "application/atom+xml; charset=utf-8");
        let f = atom(&a);
        assert_eq!(f.id, "https://news.example/feed.atom");
        assert_eq!(f.lang.as_deref(), Some("en"));
        assert!(f.links.iter().any(|l| l.rel == "self" && l.href == "https://news.example/feed.atom"));
        assert!(f.links.iter().any(|l| l.rel == "alternate" && l.href == "https://news.example/"));
        assert_eq!(f.updated.to_rfc3339(), "2023-11-15T14:37:00+03:30");
        let e = &f.entries[0];
        assert_eq!(e.id, "https://news.example/news/84427");
        assert_eq!(e.title.value, SEED_HEADLINE);
        assert_eq!(e.published.map(|p| p.to_rfc3339()).as_deref(), Some("2023-11-15T14:37:00+03:30"));
        assert_eq!(e.updated.to_rfc3339(), "2023-11-15T14:37:00+03:30");
        assert!(e.links.iter().any(|l| l.rel == "alternate" && l.href == SEED_URL));
        assert_eq!(e.authors[0].name, "Jane Reporter");
        assert_eq!(e.authors[0].uri.as_deref(), Some("https://news.example/author/jane-reporter"));
        assert!(e.summary.as_ref().is_some_and(|s| s.value.starts_with("Iran’s Defense Ministry")));
        let content = e.content.as_ref().expect("content");
        assert_eq!(content.content_type.as_deref(), Some("html"));
        assert!(content.value.as_deref().is_some_and(|v| v.starts_with("<p>Iranian Deputy Defense Minister")));
        let terms: Vec<&str> = e.categories.iter().map(|c| c.term.as_str()).collect();
        assert_eq!(terms, ["iran", "defense"]);

        let a = app.get("/feed.json").await;
        assert_eq!(a.status, StatusCode::OK);
        assert_eq!(a.content_type(), "application/feed+json; charset=utf-8");
        let j = json(&a);
        assert_eq!(j["version"], "https://jsonfeed.org/version/1.1");
        assert_eq!(j["feed_url"], "https://news.example/feed.json");
        assert_eq!(j["home_page_url"], "https://news.example/");
        let it = &j["items"][0];
        assert_eq!(it["id"], "https://news.example/news/84427");
        assert_eq!(it["url"], SEED_URL);
        assert_eq!(it["date_published"], "2023-11-15T14:37:00+03:30");
        assert_eq!(it["date_modified"], "2023-11-15T14:37:00+03:30");
        assert_eq!(it["authors"][0]["name"], "Jane Reporter");
        assert_eq!(it["tags"], serde_json::json!(["Iran", "Defense"]));
        assert!(it["content_html"].as_str().is_some_and(|c| c.starts_with("<p>Iranian Deputy")));
        assert!(it["summary"].as_str().is_some_and(|c| c.starts_with("Iran’s Defense Ministry")));
    }
}

backend_test! {
    async fn feeds_are_newest_first_and_carry_updates(db) {
        let app = TestApp::new(db).await;
        let newer = app.add_at(&["World"], "Newer world story", utc(2024, 1, 9, 12, 0, 0)).await;
        app.sync().await;
        let c = rss(&app.get("/feed.rss").await);
        assert_eq!(rss_titles(&c), ["Newer world story", SEED_HEADLINE]);
        // An edit after publishing is a public update: Atom's <updated> and JSON's date_modified move, the publish time stays.
        let mut story = app.db.store.story(newer).await.expect("load").expect("exists");
        story.lead = "Changed lead.".into();
        app.db.store.save_story(&StoryInput {
            news_id: Some(newer), edition_id: story.edition_id, section: SectionRef::Id(story.section_id), slug: Some(story.slug.clone()),
            headline: story.headline.clone(), lead: story.lead.clone(), body_source: story.body_source.clone(), body_format: story.body_format,
            photo_id: None, status: story.status, published_at: story.published_at, tags: vec!["Synthetic".into()], authors: vec!["Desk".into()], agency: None, actor: "test".into(),
            gallery_id: None,
        }).await.expect("save");
        app.sync().await;
        let f = atom(&app.get("/feed.atom").await);
        let e = &f.entries[0];
        assert_eq!(e.summary.as_ref().map(|s| s.value.as_str()), Some("Changed lead."));
        assert_eq!(e.published.map(|p| p.to_rfc3339()).as_deref(), Some("2024-01-09T15:30:00+03:30"));
        assert!(e.updated > e.published.expect("published"), "updated moves after an edit");
        let j = json(&app.get("/feed.json").await);
        assert_ne!(j["items"][0]["date_modified"], j["items"][0]["date_published"]);
    }
}

backend_test! {
    async fn the_lead_photo_is_an_enclosure_with_its_size(db) {
        let app = TestApp::new(db).await;
        let bytes = vec![0xFFu8; 4321];
        let sha = "ab".repeat(32);
        let photo = app.db.store.put_photo(&bytes, "image/jpeg", 800, 600, "A caption", "Credit", &sha).await.expect("photo");
        app.add(NewStory { sections: &["World"], headline: "Story with photo", published_at: utc(2024, 1, 9, 12, 0, 0), tags: &[], photo_id: Some(photo.id) }).await;
        app.sync().await;
        let photo_url = format!("https://news.example/media/{sha}.jpg");
        let c = rss(&app.get("/feed.rss").await);
        let enc = c.items[0].enclosure.as_ref().expect("enclosure");
        assert_eq!((enc.url.as_str(), enc.length.as_str(), enc.mime_type.as_str()), (photo_url.as_str(), "4321", "image/jpeg"));
        let f = atom(&app.get("/feed.atom").await);
        let link = f.entries[0].links.iter().find(|l| l.rel == "enclosure").expect("enclosure link");
        assert_eq!((link.href.as_str(), link.length.as_deref(), link.mime_type.as_deref()), (photo_url.as_str(), Some("4321"), Some("image/jpeg")));
        let j = json(&app.get("/feed.json").await);
        assert_eq!(j["items"][0]["image"], photo_url.as_str());
        assert_eq!(j["items"][0]["attachments"][0]["size_in_bytes"], 4321);
        assert_eq!(j["items"][0]["attachments"][0]["mime_type"], "image/jpeg");
    }
}

backend_test! {
    async fn section_and_tag_feeds_have_only_their_stories(db) {
        let app = TestApp::new(db).await;
        app.add_at(&["World"], "World story", utc(2023, 11, 16, 8, 0, 0)).await;
        app.add(NewStory { sections: &["Iran", "Defense"], headline: "Child section story", published_at: utc(2023, 11, 17, 8, 0, 0), tags: &["Missiles"], photo_id: None }).await;
        app.sync().await;

        let a = app.get("/section/iran/feed.rss").await;
        assert_eq!(a.status, StatusCode::OK);
        assert_eq!(a.content_type(), "application/rss+xml; charset=utf-8");
        let c = rss(&a);
        assert_eq!(rss_titles(&c), ["Child section story", SEED_HEADLINE], "a section's feed includes its subsections");
        assert_eq!(c.title, "Iran - Test Agency");
        assert_eq!(c.link, "https://news.example/section/iran");
        assert_eq!(c.atom_ext.as_ref().expect("self").links[0].href, "https://news.example/section/iran/feed.rss");

        let a = app.get("/section/iran/defense/feed.atom").await;
        assert_eq!(a.content_type(), "application/atom+xml; charset=utf-8");
        let f = atom(&a);
        assert_eq!(f.entries.iter().map(|e| e.title.value.as_str()).collect::<Vec<_>>(), ["Child section story"]);
        assert!(f.links.iter().any(|l| l.rel == "self" && l.href == "https://news.example/section/iran/defense/feed.atom"));

        let j = json(&app.get("/section/world/feed.json").await);
        let titles: Vec<&str> = j["items"].as_array().expect("items").iter().filter_map(|i| i["title"].as_str()).collect();
        assert_eq!(titles, ["World story"]);
        assert_eq!(j["feed_url"], "https://news.example/section/world/feed.json");

        let c = rss(&app.get("/tag/defense/feed.rss").await);
        assert_eq!(rss_titles(&c), [SEED_HEADLINE]);
        assert_eq!(c.atom_ext.as_ref().expect("self").links[0].href, "https://news.example/tag/defense/feed.rss");
        let f = atom(&app.get("/tag/synthetic/feed.atom").await);
        assert_eq!(f.entries.iter().map(|e| e.title.value.as_str()).collect::<Vec<_>>(), ["World story"]);
        let j = json(&app.get("/tag/missiles/feed.json").await);
        assert_eq!(j["items"].as_array().map(Vec::len), Some(1));

        // The section page itself is still the section page.
        let page = app.get("/section/iran").await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(page.content_type().starts_with("text/html"));
    }
}

backend_test! {
    async fn unknown_section_or_tag_feeds_answer_404(db) {
        let app = TestApp::new(db).await;
        for uri in ["/section/nope/feed.rss", "/section/iran/nope/feed.atom", "/tag/nope/feed.json", "/tag/nope/feed.rss", "/feed.xml", "/section/iran/feed.txt"] {
            let a = app.get(uri).await;
            assert_eq!(a.status, StatusCode::NOT_FOUND, "{uri}");
            assert!(a.body.contains("<h1>Page not found</h1>"), "{uri}");
        }
    }
}

backend_test! {
    async fn feeds_answer_conditional_requests_and_compress(db) {
        let app = TestApp::new(db).await;
        let a = app.get("/feed.atom").await;
        let etag = a.headers[header::ETAG].to_str().expect("etag").to_string();
        assert!(a.headers.contains_key(header::LAST_MODIFIED));
        assert!(a.headers[header::CACHE_CONTROL].to_str().expect("cc").contains("max-age"));
        let req = Request::get("/feed.atom").header(header::IF_NONE_MATCH, &etag).body(Body::empty()).expect("req");
        let b = app.request(req).await;
        assert_eq!(b.status, StatusCode::NOT_MODIFIED);
        assert!(b.body.is_empty());
        let req = Request::get("/feed.rss").header(header::ACCEPT_ENCODING, "gzip").body(Body::empty()).expect("req");
        let res = app.router().oneshot(req).await.expect("infallible");
        assert_eq!(res.headers()[header::CONTENT_ENCODING], "gzip");
        assert_eq!(res.headers()[header::CONTENT_TYPE], "application/rss+xml; charset=utf-8");
        let bytes = res.into_body().collect().await.expect("body").to_bytes();
        let mut text = String::new();
        flate2::read::GzDecoder::new(&bytes[..]).read_to_string(&mut text).expect("gunzip");
        assert_eq!(text, app.get("/feed.rss").await.body);
        // A new story changes the validator.
        app.add_at(&["World"], "Fresh story", utc(2024, 1, 1, 0, 0, 0)).await;
        app.sync().await;
        let req = Request::get("/feed.atom").header(header::IF_NONE_MATCH, &etag).body(Body::empty()).expect("req");
        let c = app.request(req).await;
        assert_eq!(c.status, StatusCode::OK);
        assert!(c.body.contains("Fresh story"));
    }
}

backend_test! {
    async fn pages_announce_their_feeds(db) {
        let app = TestApp::new(db).await;
        let edition_links = [
            "<link rel=\"alternate\" type=\"application/rss+xml\" title=\"Test Agency (RSS)\" href=\"https://news.example/feed.rss\">",
            "<link rel=\"alternate\" type=\"application/atom+xml\" title=\"Test Agency (Atom)\" href=\"https://news.example/feed.atom\">",
            "<link rel=\"alternate\" type=\"application/feed+json\" title=\"Test Agency (JSON Feed)\" href=\"https://news.example/feed.json\">",
        ];
        for uri in ["/", "/news/84427/defense-ministry-iran-gaining-access-to-modern-military-technologies-as-exports", "/section/iran", "/tag/defense", "/no-such-page"] {
            let page = app.get(uri).await;
            let head = &page.body[..page.body.find("</head>").expect("head")];
            for l in edition_links {
                assert!(head.contains(l), "{uri}: {l}");
            }
        }
        let section = app.get("/section/iran").await;
        assert!(section.body.contains("<link rel=\"alternate\" type=\"application/rss+xml\" title=\"Iran - Test Agency (RSS)\" href=\"https://news.example/section/iran/feed.rss\">"));
        let tag = app.get("/tag/defense").await;
        assert!(tag.body.contains("href=\"https://news.example/tag/defense/feed.json\">"));
        let home = app.get("/").await;
        assert_eq!(home.body.matches("rel=\"alternate\"").count(), 3);
    }
}

backend_test! {
    async fn news_sitemap_lists_only_the_last_48_hours(db) {
        let app = TestApp::new(db).await;
        let now = Utc::now();
        app.add_at(&["World"], "One hour old", now - Duration::hours(1)).await;
        app.add_at(&["World"], "Almost two days old", now - Duration::hours(47)).await;
        app.add_at(&["World"], "Over two days old", now - Duration::hours(49)).await;
        app.sync().await;
        let a = app.get("/sitemap-news.xml").await;
        assert_eq!(a.status, StatusCode::OK);
        assert_eq!(a.content_type(), "application/xml; charset=utf-8");
        let b = &a.body;
        assert!(b.contains("xmlns:news=\"http://www.google.com/schemas/sitemap-news/0.9\""));
        assert!(b.contains("<news:title>One hour old</news:title>"));
        assert!(b.contains("<news:title>Almost two days old</news:title>"));
        assert!(!b.contains("Over two days old"));
        assert!(!b.contains("84427"), "the seed story is from 2023");
        assert_eq!(b.matches("<news:news>").count(), 2);
        assert_eq!(b.matches("<news:name>Test Agency</news:name>").count(), 2);
        assert_eq!(b.matches("<news:language>en</news:language>").count(), 2);
        let first = b.find("One hour old").expect("newest");
        assert!(first < b.find("Almost two days old").expect("older"), "newest first");
        let stamp = dates::iso8601(DateTime::from_timestamp(now.timestamp() - 3600, 0).expect("t"), chrono_tz::Asia::Tehran);
        assert!(b.contains(&format!("<news:publication_date>{stamp}</news:publication_date>")), "{stamp} in {b}");
        assert!(stamp.ends_with("+03:30"));
    }
}

backend_test! {
    async fn an_empty_news_sitemap_is_still_a_valid_url_set(db) {
        let app = TestApp::new(db).await;
        let a = app.get("/sitemap-news.xml").await;
        assert_eq!(a.status, StatusCode::OK);
        assert_eq!(locs(&a.body), ["https://news.example/"]);
        assert!(!a.body.contains("<news:news>"));
    }
}

backend_test! {
    async fn sitemap_index_lists_each_month_with_stories(db) {
        let app = TestApp::new(db).await;
        app.add_at(&["World"], "January story", utc(2024, 1, 9, 12, 0, 0)).await;
        app.sync().await;
        let a = app.get("/sitemap.xml").await;
        assert_eq!(a.status, StatusCode::OK);
        assert_eq!(a.content_type(), "application/xml; charset=utf-8");
        assert!(a.body.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>"));
        assert!(a.body.contains("<sitemapindex xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">"));
        assert_eq!(locs(&a.body), [
            "https://news.example/sitemaps/sections.xml",
            "https://news.example/sitemaps/stories-2023-11.xml",
            "https://news.example/sitemaps/stories-2024-01.xml",
        ]);
        // A story in a new month drops the cached index.
        app.add_at(&["World"], "March story", utc(2024, 3, 1, 0, 0, 0)).await;
        app.sync().await;
        assert!(locs(&app.get("/sitemap.xml").await.body).contains(&"https://news.example/sitemaps/stories-2024-03.xml".to_string()));
    }
}

backend_test! {
    async fn a_month_sitemap_lists_exactly_that_months_stories(db) {
        let app = TestApp::new(db).await;
        let last_of_nov = app.add_at(&["World"], "Last second of November", utc(2023, 11, 30, 23, 59, 59)).await;
        let first_of_dec = app.add_at(&["World"], "First second of December", utc(2023, 12, 1, 0, 0, 0)).await;
        app.sync().await;
        let url_of = async |id: i64| {
            format!("https://news.example{}", app.db.store.story(id).await.expect("load").expect("exists").path())
        };
        let (last_of_nov, first_of_dec) = (url_of(last_of_nov).await, url_of(first_of_dec).await);
        let nov = app.get("/sitemaps/stories-2023-11.xml").await;
        assert_eq!(nov.status, StatusCode::OK);
        assert_eq!(nov.content_type(), "application/xml; charset=utf-8");
        assert_eq!(locs(&nov.body), [SEED_URL.to_string(), last_of_nov]);
        assert!(nov.body.contains("<lastmod>2023-11-15T14:37:00+03:30</lastmod>"));
        let dec = app.get("/sitemaps/stories-2023-12.xml").await;
        assert_eq!(locs(&dec.body), [first_of_dec]);
        for uri in ["/sitemaps/stories-2023-10.xml", "/sitemaps/stories-2023-11-2.xml", "/sitemaps/stories-2023-13.xml", "/sitemaps/other.xml", "/sitemaps/stories-2023-11-1.xml"] {
            assert_eq!(app.get(uri).await.status, StatusCode::NOT_FOUND, "{uri}");
        }
        // A story published into a month drops that month's cached sitemap, not the others.
        assert!(app.state.pages.get("/sitemaps/stories-2023-12.xml").is_some());
        app.add_at(&["World"], "Mid November", utc(2023, 11, 20, 10, 0, 0)).await;
        app.sync().await;
        assert!(app.state.pages.get("/sitemaps/stories-2023-11.xml").is_none());
        assert!(app.state.pages.get("/sitemaps/stories-2023-12.xml").is_some());
        assert_eq!(locs(&app.get("/sitemaps/stories-2023-11.xml").await.body).len(), 3);
    }
}

backend_test! {
    async fn sections_sitemap_lists_home_sections_and_tags(db) {
        let app = TestApp::new(db).await;
        app.add(NewStory { sections: &["Iran", "Defense"], headline: "Child", published_at: utc(2023, 11, 17, 8, 0, 0), tags: &["Missiles"], photo_id: None }).await;
        app.sync().await;
        let a = app.get("/sitemaps/sections.xml").await;
        assert_eq!(a.status, StatusCode::OK);
        assert_eq!(locs(&a.body), [
            "https://news.example/",
            "https://news.example/section/iran",
            "https://news.example/section/iran/defense",
            "https://news.example/tag/defense",
            "https://news.example/tag/missiles",
        ]);
    }
}

backend_test! {
    async fn robots_txt_names_the_sitemaps(db) {
        let app = TestApp::new(db).await;
        let a = app.get("/robots.txt").await;
        assert_eq!(a.status, StatusCode::OK);
        assert!(a.body.contains("\nSitemap: https://news.example/sitemap.xml\n"));
        assert!(a.body.contains("\nSitemap: https://news.example/sitemap-news.xml\n"));
        assert!(a.body.contains("Disallow: /admin/"));
    }
}

backend_test! {
    async fn an_unpublished_story_leaves_the_feeds_and_sitemaps(db) {
        let app = TestApp::new(db).await;
        let recent_at = Utc::now() - Duration::hours(2);
        let recent = app.add(NewStory { sections: &["Iran"], headline: "Recent Iran story", published_at: recent_at, tags: &["Defense"], photo_id: None }).await;
        app.add_at(&["World"], "Another November story", utc(2023, 11, 20, 8, 0, 0)).await;
        app.sync().await;
        let recent_path = app.db.store.story(recent).await.expect("load").expect("exists").path();
        let month = recent_at.format("/sitemaps/stories-%Y-%m.xml").to_string();
        let feeds = ["/feed.rss", "/feed.atom", "/feed.json", "/section/iran/feed.rss", "/section/iran/feed.atom", "/section/iran/feed.json", "/tag/defense/feed.rss", "/tag/defense/feed.atom", "/tag/defense/feed.json"];
        // Everything is rendered and cached while the stories are published.
        for uri in feeds {
            let a = app.get(uri).await;
            assert!(a.body.contains("Recent Iran story") && a.body.contains(SEED_HEADLINE), "{uri}");
        }
        assert!(app.get("/sitemap-news.xml").await.body.contains(&recent_path));
        assert!(app.get(&month).await.body.contains(&recent_path));
        assert!(app.get("/sitemaps/stories-2023-11.xml").await.body.contains(SEED_URL));

        app.db.store.set_story_status(recent, StoryStatus::Unpublished).await.expect("unpublish");
        app.db.store.set_story_status(84427, StoryStatus::Killed).await.expect("kill");
        app.sync().await;
        for uri in feeds {
            let a = app.get(uri).await;
            // No published story carries the tag any more: its feeds are gone, like its page.
            let want = if uri.starts_with("/tag/") { StatusCode::NOT_FOUND } else { StatusCode::OK };
            assert_eq!(a.status, want, "{uri}");
            assert!(!a.body.contains("Recent Iran story") && !a.body.contains(SEED_HEADLINE), "{uri} still lists a withdrawn story");
        }
        let news = app.get("/sitemap-news.xml").await;
        assert!(!news.body.contains(&recent_path));
        assert_eq!(app.get(&month).await.status, StatusCode::NOT_FOUND, "the month has no published story left");
        let nov = app.get("/sitemaps/stories-2023-11.xml").await;
        assert!(!nov.body.contains("84427") && nov.body.contains("another-november-story"));
    }
}

backend_test! {
    async fn sitemaps_validate_against_the_shipped_schemas(db) {
        // The schemas live in ../shared beside the repository; xmllint comes from libxml2-utils.
        let schemas = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/schemas/sitemaps");
        let xmllint = std::process::Command::new("xmllint").arg("--version").output().is_ok_and(|o| o.status.success());
        if !schemas.is_dir() || !xmllint {
            eprintln!("skipped: needs xmllint and {}", schemas.display());
            return;
        }
        let app = TestApp::new(db).await;
        app.add(NewStory { sections: &["World"], headline: "Fresh <b>&</b> \"quoted\"", published_at: Utc::now() - Duration::minutes(5), tags: &["Tag & Co"], photo_id: None }).await;
        app.sync().await;
        let dir = tempfile::tempdir().expect("tempdir");
        let mut docs = vec![("/sitemap.xml".to_string(), "siteindex.xsd"), ("/sitemap-news.xml".to_string(), "combined-news.xsd")];
        for loc in locs(&app.get("/sitemap.xml").await.body) {
            docs.push((loc.trim_start_matches("https://news.example").to_string(), "sitemap.xsd"));
        }
        assert_eq!(docs.len(), 5, "{docs:?}");
        for (i, (uri, xsd)) in docs.iter().enumerate() {
            let a = app.get(uri).await;
            assert_eq!(a.status, StatusCode::OK, "{uri}");
            let file = dir.path().join(format!("{i}.xml"));
            std::fs::write(&file, &a.body).expect("write");
            let out = std::process::Command::new("xmllint").arg("--noout").arg("--schema").arg(schemas.join(xsd)).arg(&file).output().expect("xmllint");
            assert!(out.status.success(), "{uri} against {xsd}: {}\n{}", String::from_utf8_lossy(&out.stderr), a.body);
        }
    }
}

backend_test! {
    async fn the_feed_length_is_configurable(db) {
        let app = TestApp::new(db).await;
        for i in 0..5 {
            app.add_story(&["World"], &format!("Feed story {i}"), 60 + i).await;
        }
        let config = newsdesk_web::WebConfig { public_url: "https://news.example".into(), feed_items: 3, ..Default::default() };
        let state = newsdesk_web::AppState::new(app.db.store.clone(), config).await.expect("state");
        let res = newsdesk_web::app(state).oneshot(Request::get("/feed.rss").body(Body::empty()).expect("r")).await.expect("ok");
        let body = res.into_body().collect().await.expect("body").to_bytes();
        let rss = String::from_utf8_lossy(&body);
        assert_eq!(rss.matches("<item>").count(), 3, "feed_items = 3");
        assert!(rss.contains("Feed story 4") && !rss.contains("Feed story 1"), "the newest three");
        assert_eq!(app.get("/feed.rss").await.body.matches("<item>").count(), 6, "default 50 holds all six");
    }
}
