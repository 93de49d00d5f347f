//! Spike (issue 13 item 3) and breaking news (item 5), on SQLite and on
//! PostgreSQL: a spiked draft leaves every desk and list, shows under
//! "Spiked", is refused changes until unspiked, and is purged after the
//! expiry (time given to the purge, not slept); a published story cannot be
//! spiked (409); reporters spike only their own. A breaking-news banner
//! reaches the cached pages of a second node within a second and leaves them
//! at its expiry and when cleared.

use std::time::{Duration as StdDuration, Instant};

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use chrono::{Duration, Utc};
use newsdesk_domain::roles::Role;
use newsdesk_storage::backend_test;
use newsdesk_web::desk::{self, SectionChoice, StoryChanges};
use newsdesk_web::{AppState, WebConfig};
use serde_json::{Value, json};

use crate::common;
use common::{Answer, Person, TestApp};

/// The seed story (published).
const SEED: i64 = 84427;

async fn api(app: &TestApp, method: Method, uri: &str, p: &Person, body: Option<Value>) -> Answer {
    let mut req =
        Request::builder().method(method).uri(uri).header(header::AUTHORIZATION, format!("Bearer {}", p.token));
    let body = match body {
        Some(b) => {
            req = req.header(header::CONTENT_TYPE, "application/json");
            Body::from(b.to_string())
        }
        None => Body::empty(),
    };
    app.request(req.body(body).expect("request")).await
}

/// A draft by `p` in section World.
async fn draft(app: &TestApp, p: &Person, headline: &str) -> i64 {
    let edition = desk::edition_for_new(&app.state, None).expect("edition");
    let world = app.db.store.ensure_section_path(app.edition_id, &["World".into()]).await.expect("section");
    let changes = StoryChanges {
        headline: Some(headline.into()),
        body: Some("Body.".into()),
        section: Some(SectionChoice::Id(world.id)),
        ..StoryChanges::default()
    };
    desk::create(&app.state, &p.actor, &edition, changes).await.expect("draft")
}

fn audited(entries: &[newsdesk_storage::AuditEntry], action: &str) -> bool {
    entries.iter().any(|e| e.action == action)
}

backend_test! {
    async fn a_spiked_draft_leaves_every_desk_and_list_until_it_is_unspiked(db) {
        let app = TestApp::new(db).await;
        let admin = app.person("Ada Admin", Role::Admin).await;
        let rita = app.person("Rita Reporter", Role::Reporter).await;
        let id = draft(&app, &rita, "Spike me softly").await;
        // On a desk, assigned to Rita.
        let d = desk::boards::create_desk(&app.state, &admin.actor, "World desk").await.expect("desk");
        desk::boards::set_member(&app.state, &admin.actor, d.id, rita.actor.user_id, true).await.expect("member");
        let stages = app.db.store.desk_stages(d.id).await.expect("stages");
        let working = stages[1].id;
        desk::boards::move_story(&app.state, &rita.actor, id, d.id, Some(working)).await.expect("on the desk");
        desk::boards::assign(&app.state, &rita.actor, id, Some(rita.actor.user_id)).await.expect("assigned");
        let board = format!("/admin/desks/{}", d.id);
        assert!(app.get_as(&rita, "/admin/stories").await.body.contains("Spike me softly"));
        assert!(app.get_as(&rita, &board).await.body.contains("Spike me softly"));
        let drafts_before = app.db.store.desk_counts().await.expect("counts");

        // Rita spikes her own draft through the API.
        let a = api(&app, Method::POST, &format!("/api/v1/stories/{id}/spike"), &rita, None).await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.body);
        let v: Value = serde_json::from_str(&a.body).expect("json");
        assert_eq!(v["spiked"], json!(true));
        assert!(v["purge_after"].as_str().is_some_and(|t| !t.is_empty()), "{v}");
        // Gone from the list, the board, "mine" and the counts; listed under "Spiked".
        assert!(!app.get_as(&rita, "/admin/stories").await.body.contains("Spike me softly"));
        assert!(!app.get_as(&admin, "/admin/stories?status=draft").await.body.contains("Spike me softly"));
        assert!(!app.get_as(&rita, &board).await.body.contains("Spike me softly"));
        assert!(desk::boards::mine(&app.state, &rita.actor).await.expect("mine").iter().all(|c| c.place.news_id != id));
        let drafts = |counts: &[(String, i64)]| counts.iter().find(|(s, _)| s == "draft").map_or(0, |(_, n)| *n);
        assert_eq!(drafts(&app.db.store.desk_counts().await.expect("counts")), drafts(&drafts_before) - 1);
        let spiked = app.get_as(&rita, "/admin/stories/spiked").await;
        assert_eq!(spiked.status, StatusCode::OK);
        assert!(spiked.body.contains("Spike me softly") && spiked.body.contains("Unspike"), "{}", spiked.body);
        // A spiked story is not changed: not edited, not moved through the workflow, not put on a desk.
        let v = app.db.store.story(id).await.expect("read").expect("story").version;
        let a = api(&app, Method::PATCH, &format!("/api/v1/stories/{id}"), &rita, Some(json!({"version": v, "headline": "x"}))).await;
        assert_eq!(a.status, StatusCode::CONFLICT, "{}", a.body);
        assert!(a.body.contains("spiked"), "{}", a.body);
        let a = api(&app, Method::POST, &format!("/api/v1/stories/{id}/workflow"), &rita, Some(json!({"action": "submit", "version": v}))).await;
        assert_eq!(a.status, StatusCode::CONFLICT, "{}", a.body);
        assert!(desk::boards::move_story(&app.state, &rita.actor, id, d.id, None).await.is_err());
        let a = api(&app, Method::POST, &format!("/api/v1/stories/{id}/spike"), &rita, None).await;
        assert_eq!(a.status, StatusCode::CONFLICT, "spiked twice: {}", a.body);
        let editor_page = app.get_as(&rita, &format!("/admin/stories/{id}/edit")).await;
        assert!(editor_page.body.contains("Spiked on") && editor_page.body.contains("<fieldset disabled>"), "read-only");

        // Unspiked through the back office: back in the lists and on its desk stage, assigned as before.
        let a = app.post_as(&rita, &format!("/admin/stories/{id}/unspike"), &[]).await;
        assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
        assert!(app.get_as(&rita, "/admin/stories").await.body.contains("Spike me softly"));
        assert!(!app.get_as(&rita, "/admin/stories/spiked").await.body.contains("Spike me softly"));
        let place = app.db.store.story_place(id).await.expect("place").expect("back on the desk");
        assert_eq!((place.stage_id, place.assignee_id), (working, Some(rita.actor.user_id)));
        let a = api(&app, Method::POST, &format!("/api/v1/stories/{id}/unspike"), &rita, None).await;
        assert_eq!(a.status, StatusCode::CONFLICT, "not spiked: {}", a.body);
        let log = app.db.store.audit_log(Some(("story", &id.to_string())), 50).await.expect("audit");
        assert!(audited(&log, "story.spike") && audited(&log, "story.unspike"), "{log:?}");
    }
}

backend_test! {
    async fn only_never_published_stories_are_spiked_and_reporters_spike_only_their_own(db) {
        let app = TestApp::new(db).await;
        let ed = app.person("Ed Editor", Role::Editor).await;
        let rita = app.person("Rita Reporter", Role::Reporter).await;
        let rex = app.person("Rex Reporter", Role::Reporter).await;
        // A published story: 409, pointing at unpublish and kill.
        let a = api(&app, Method::POST, &format!("/api/v1/stories/{SEED}/spike"), &ed, None).await;
        assert_eq!(a.status, StatusCode::CONFLICT, "{}", a.body);
        assert!(a.body.contains("published") && a.body.contains("unpublish"), "{}", a.body);
        let a = app.post_as(&ed, &format!("/admin/stories/{SEED}/spike"), &[]).await;
        assert_eq!(a.status, StatusCode::CONFLICT, "the back office too: {}", a.body);
        // A scheduled story: unschedule first.
        let id = draft(&app, &ed, "Scheduled piece").await;
        let v = app.db.store.story(id).await.expect("read").expect("story").version;
        let at = (Utc::now() + Duration::hours(3)).to_rfc3339();
        let a = api(&app, Method::POST, &format!("/api/v1/stories/{id}/workflow"), &ed,
            Some(json!({"action": "schedule", "version": v, "scheduled_at": at}))).await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.body);
        let a = api(&app, Method::POST, &format!("/api/v1/stories/{id}/spike"), &ed, None).await;
        assert_eq!(a.status, StatusCode::CONFLICT, "{}", a.body);
        assert!(a.body.contains("unschedule"), "{}", a.body);
        // Rex may not spike Rita's draft; an editor may, and a submitted one too.
        let ritas = draft(&app, &rita, "Draft by Rita").await;
        let a = api(&app, Method::POST, &format!("/api/v1/stories/{ritas}/spike"), &rex, None).await;
        assert_eq!(a.status, StatusCode::FORBIDDEN, "{}", a.body);
        let v = app.db.store.story(ritas).await.expect("read").expect("story").version;
        let a = api(&app, Method::POST, &format!("/api/v1/stories/{ritas}/workflow"), &rita, Some(json!({"action": "submit", "version": v}))).await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.body);
        let a = api(&app, Method::POST, &format!("/api/v1/stories/{ritas}/spike"), &ed, None).await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.body);
        // Rex does not see it under "Spiked"; Rita and the editor do; Rex may not unspike it.
        assert!(!app.get_as(&rex, "/admin/stories/spiked").await.body.contains("Draft by Rita"));
        assert!(app.get_as(&rita, "/admin/stories/spiked").await.body.contains("Draft by Rita"));
        let a = api(&app, Method::POST, &format!("/api/v1/stories/{ritas}/unspike"), &rex, None).await;
        assert_eq!(a.status, StatusCode::FORBIDDEN, "{}", a.body);
        // No token: 401; an unknown story: 404.
        let req = Request::post(format!("/api/v1/stories/{ritas}/unspike")).body(Body::empty()).expect("request");
        assert_eq!(app.request(req).await.status, StatusCode::UNAUTHORIZED);
        assert_eq!(api(&app, Method::POST, "/api/v1/stories/999999/spike", &ed, None).await.status, StatusCode::NOT_FOUND);
    }
}

backend_test! {
    async fn spiked_stories_are_purged_after_the_expiry_and_once(db) {
        let app = TestApp::new(db).await;
        let rita = app.person("Rita Reporter", Role::Reporter).await;
        let now = Utc::now();
        let old = draft(&app, &rita, "Old spike").await;
        let recent = draft(&app, &rita, "Recent spike").await;
        let kept = draft(&app, &rita, "Never spiked").await;
        desk::spike::spike(&app.state, &rita.actor, old, now - Duration::days(31)).await.expect("spike");
        desk::spike::spike(&app.state, &rita.actor, recent, now - Duration::days(29)).await.expect("spike");
        assert!(!app.db.store.revisions(old).await.expect("revisions").is_empty());
        // Two purges at once (two nodes): the old one goes, once; the others stay.
        let (a, b) = tokio::join!(desk::spike::purge_due(&app.state, now), desk::spike::purge_due(&app.state, now));
        let mut purged = a.expect("purge");
        purged.extend(b.expect("purge"));
        assert_eq!(purged, vec![old]);
        assert!(app.db.store.story(old).await.expect("read").is_none(), "purged");
        assert!(app.db.store.revisions(old).await.expect("revisions").is_empty(), "with its revisions");
        assert!(app.db.store.spiked_at(old).await.expect("spike").is_none());
        assert!(app.db.store.story(recent).await.expect("read").is_some(), "29 days: kept");
        assert!(app.db.store.story(kept).await.expect("read").is_some());
        let log = app.db.store.audit_log(Some(("story", &old.to_string())), 50).await.expect("audit");
        assert!(log.iter().any(|e| e.action == "story.purge" && e.actor == newsdesk_storage::PURGER), "{log:?}");
        // Two days later the second goes too; the scheduler's entry point does the same under its lease.
        let later = now + Duration::days(2);
        assert_eq!(newsdesk_web::scheduler::purge_spiked_now(&app.state, "node-a", later).await.expect("purge"), vec![recent]);
        assert!(app.db.store.story(kept).await.expect("read").is_some());
        // The expiry is a setting.
        let id = draft(&app, &rita, "Short-lived spike").await;
        desk::spike::spike(&app.state, &rita.actor, id, now - Duration::days(3)).await.expect("spike");
        let config = WebConfig { spike_expiry_days: 2, ..WebConfig::default() };
        let short = AppState::new(app.db.store.clone(), config).await.expect("state");
        assert_eq!(desk::spike::purge_due(&short, now).await.expect("purge"), vec![id]);
    }
}

// ----- breaking news -----

/// A second node on the same database, following the change log as `serve` does.
async fn second_node(app: &TestApp) -> (AppState, tokio::task::JoinHandle<()>) {
    let config = WebConfig { public_url: "https://news.example".into(), ..WebConfig::default() };
    let node = AppState::new(app.db.store.clone(), config).await.expect("second node");
    let follower = tokio::spawn(newsdesk_web::follow_changes(node.clone()));
    (node, follower)
}

async fn page(node: &AppState, path: &str) -> String {
    let req = Request::get(path).body(Body::empty()).expect("request");
    let res = tower::ServiceExt::oneshot(newsdesk_web::app(node.clone()), req).await.expect("infallible");
    assert_eq!(res.status(), StatusCode::OK, "{path}");
    let body = http_body_util::BodyExt::collect(res.into_body()).await.expect("body").to_bytes();
    String::from_utf8_lossy(&body).into_owned()
}

/// The breaking-news banner of a page, if it has one.
fn banner(html: &str) -> Option<&str> {
    let start = html.find("<section class=\"breaking\"")?;
    let end = html[start..].find("</section>")? + start;
    Some(&html[start..end])
}

/// Waits until every page in `paths` on `node` shows (`want`) or lacks the
/// banner; returns how long that took, or panics after `limit`.
async fn until_banner(node: &AppState, paths: &[&str], want: bool, limit: StdDuration) -> StdDuration {
    let start = Instant::now();
    loop {
        let mut all = true;
        for p in paths {
            if banner(&page(node, p).await).is_some() != want {
                all = false;
            }
        }
        if all {
            return start.elapsed();
        }
        assert!(
            start.elapsed() < limit,
            "the banner did not {} within {limit:?}",
            if want { "appear" } else { "leave" }
        );
        tokio::time::sleep(StdDuration::from_millis(25)).await;
    }
}

backend_test! {
    async fn a_breaking_banner_reaches_cached_pages_of_every_node_within_a_second_and_leaves_at_expiry(db) {
        let app = TestApp::new(db).await;
        let ed = app.person("Ed Editor", Role::Editor).await;
        let other = app.add_story(&["World"], "Another story", 10).await;
        // Node B starts after that publish: its follower has nothing else to apply.
        let (node_b, follower) = second_node(&app).await;
        let other_path = app.db.store.story(other).await.expect("read").expect("story").path();
        let paths = ["/", common::SEED_PATH, other_path.as_str(), "/section/world"];
        // Node B has the pages cached, without a banner.
        for p in paths {
            assert!(banner(&page(&node_b, p).await).is_none(), "{p}");
        }
        let cached_seed = node_b.pages.get(common::SEED_PATH).expect("cached on node B");

        // Node A marks the seed story as breaking for a few seconds.
        let expires = Utc::now() + Duration::seconds(3);
        let a = api(&app, Method::POST, &format!("/api/v1/stories/{SEED}/breaking"), &ed,
            Some(json!({"expires_at": expires.to_rfc3339()}))).await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.body);
        // Timed on one cached page (a reader's request), then every page checked.
        let took = until_banner(&node_b, &[common::SEED_PATH], true, StdDuration::from_secs(1)).await;
        until_banner(&node_b, &paths, true, StdDuration::ZERO).await;
        assert!(took < StdDuration::from_secs(1), "{took:?}");
        let html = page(&node_b, "/").await;
        let b = banner(&html).expect("banner");
        assert!(b.contains("aria-label=\"Breaking news\"") && b.contains(">Breaking<"), "{b}");
        assert!(b.contains(&format!("href=\"{}\"", common::SEED_PATH)) && b.contains(common::SEED_HEADLINE), "{b}");
        assert!(!b.contains("role=\"alert\""), "a labelled region, not an alert");
        let still = node_b.pages.get(common::SEED_PATH).expect("still cached");
        assert!(std::sync::Arc::ptr_eq(&cached_seed, &still), "the page was not rendered again: only its banner slot");
        // Node A shows it at once.
        assert!(banner(&page(&app.state, "/").await).is_some());
        // At the expiry it leaves both nodes, with no change in the log.
        let since = app.db.store.last_change_id().await.expect("changes");
        let wait = (expires - Utc::now()).to_std().unwrap_or_default() + StdDuration::from_millis(1500);
        until_banner(&node_b, &paths, false, wait).await;
        until_banner(&app.state, &["/"], false, StdDuration::from_millis(500)).await;
        assert_eq!(app.db.store.last_change_id().await.expect("changes"), since);

        // Marked again (the default two hours), then cleared: node B follows both within a second.
        let a = api(&app, Method::POST, &format!("/api/v1/stories/{SEED}/breaking"), &ed, None).await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.body);
        let v: Value = serde_json::from_str(&a.body).expect("json");
        let until = chrono::DateTime::parse_from_rfc3339(v["expires_at"].as_str().expect("expires_at")).expect("time");
        let hours = (until.with_timezone(&Utc) - Utc::now()).num_minutes();
        assert!((118..=120).contains(&hours), "two hours by default, not {hours} minutes");
        until_banner(&node_b, &[common::SEED_PATH], true, StdDuration::from_secs(1)).await;
        until_banner(&node_b, &paths, true, StdDuration::ZERO).await;
        let listed = app.get_as(&ed, "/admin/breaking").await;
        assert!(listed.body.contains(common::SEED_HEADLINE) && listed.body.contains("Clear"), "{}", listed.body);
        let a = api(&app, Method::DELETE, &format!("/api/v1/stories/{SEED}/breaking"), &ed, None).await;
        assert_eq!(a.status, StatusCode::NO_CONTENT, "{}", a.body);
        until_banner(&node_b, &[common::SEED_PATH], false, StdDuration::from_secs(1)).await;
        until_banner(&node_b, &paths, false, StdDuration::ZERO).await;
        let log = app.db.store.audit_log(Some(("story", "84427")), 50).await.expect("audit");
        assert!(audited(&log, "story.breaking") && audited(&log, "story.breaking_clear"), "{log:?}");
        follower.abort();
    }
}

backend_test! {
    async fn breaking_news_is_for_published_stories_marked_by_editors_and_unpublishing_ends_it(db) {
        let app = TestApp::new(db).await;
        let ed = app.person("Ed Editor", Role::Editor).await;
        let rita = app.person("Rita Reporter", Role::Reporter).await;
        let id = draft(&app, &rita, "A draft").await;
        let a = api(&app, Method::POST, &format!("/api/v1/stories/{id}/breaking"), &ed, None).await;
        assert_eq!(a.status, StatusCode::CONFLICT, "{}", a.body);
        let a = api(&app, Method::POST, &format!("/api/v1/stories/{SEED}/breaking"), &rita, None).await;
        assert_eq!(a.status, StatusCode::FORBIDDEN, "{}", a.body);
        assert_eq!(app.post_as(&rita, &format!("/admin/stories/{SEED}/breaking"), &[]).await.status, StatusCode::FORBIDDEN);
        for bad in [json!({"minutes": 0}), json!({"minutes": 20000}), json!({"expires_at": "tomorrow"}),
                    json!({"expires_at": (Utc::now() - Duration::minutes(1)).to_rfc3339()}),
                    json!({"minutes": 5, "expires_at": (Utc::now() + Duration::minutes(5)).to_rfc3339()})] {
            let a = api(&app, Method::POST, &format!("/api/v1/stories/{SEED}/breaking"), &ed, Some(bad.clone())).await;
            assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {}", a.body);
        }
        let a = api(&app, Method::POST, &format!("/api/v1/stories/{SEED}/breaking"), &ed, Some(json!({"bogus": 1}))).await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{}", a.body);
        // Through the back office's editor page, for 30 minutes.
        let form = app.get_as(&ed, &format!("/admin/stories/{SEED}/edit")).await;
        assert!(form.body.contains("Mark as breaking"), "the control on a published story's editor");
        let a = app.post_as(&ed, &format!("/admin/stories/{SEED}/breaking"), &[("minutes", "30")]).await;
        assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
        app.sync().await;
        assert!(banner(&page(&app.state, "/").await).is_some());
        let mark = app.db.store.breaking_of(SEED).await.expect("read").expect("mark");
        assert!((mark.expires_at - Utc::now()).num_minutes() >= 29);
        // Unpublished: the banner goes with the story.
        let v = app.db.store.story(SEED).await.expect("read").expect("seed").version;
        let a = api(&app, Method::POST, &format!("/api/v1/stories/{SEED}/workflow"), &ed,
            Some(json!({"action": "unpublish", "version": v, "reason": "test"}))).await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.body);
        assert!(banner(&page(&app.state, "/").await).is_none());
    }
}

backend_test! {
    async fn the_banner_is_escaped_and_speaks_the_editions_language(db) {
        let app = TestApp::new(db).await;
        let ed = app.person("Ed Editor", Role::Editor).await;
        let fa = app
            .db
            .store
            .upsert_edition(&newsdesk_storage::NewEdition {
                lang: "fa".into(),
                name: "خبرگزاری".into(),
                direction: newsdesk_domain::Direction::Rtl,
                time_zone: chrono_tz::Asia::Tehran,
                is_default: false,
            })
            .await
            .expect("edition");
        let id = app
            .db
            .store
            .save_story(&newsdesk_storage::StoryInput {
                news_id: None,
                edition_id: fa.id,
                section: newsdesk_storage::SectionRef::Names(vec!["ایران".into()]),
                slug: None,
                headline: "زلزله <b>بزرگ</b> & پس‌لرزه".into(),
                lead: String::new(),
                body_source: "متن.".into(),
                body_format: newsdesk_domain::BodyFormat::Markdown,
                photo_id: None,
                gallery_id: None,
                status: newsdesk_domain::StoryStatus::Published,
                published_at: Some(Utc::now()),
                tags: vec![],
                authors: vec![],
                actor: "test".into(),
                agency: None,
            })
            .await
            .expect("story")
            .0;
        app.state.editions.store(std::sync::Arc::new(app.db.store.editions().await.expect("editions")));
        let a = api(&app, Method::POST, &format!("/api/v1/stories/{id}/breaking"), &ed, Some(json!({"minutes": 10}))).await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.body);
        let html = page(&app.state, "/fa/").await;
        assert!(html.contains("<html lang=\"fa\" dir=\"rtl\">"));
        let b = banner(&html).expect("banner on the Persian edition");
        assert!(b.contains("aria-label=\"خبر فوری\"") && b.contains(">فوری<"), "{b}");
        assert!(b.contains("&lt;b&gt;بزرگ&lt;/b&gt; &amp; پس‌لرزه") && !b.contains("<b>"), "escaped: {b}");
        assert!(b.contains(&format!("href=\"/fa/news/{id}/")), "{b}");
        // The English edition has none.
        assert!(banner(&page(&app.state, "/").await).is_none());
    }
}

backend_test! {
    async fn urgent_stories_can_raise_breaking_news_when_they_are_published(db) {
        let mut app = TestApp::new(db).await;
        let ed = app.person("Ed Editor", Role::Editor).await;
        // Off by default: a flash goes out without a banner.
        let quiet = draft(&app, &ed, "Flash, but no banner").await;
        let a = api(&app, Method::POST, &format!("/api/v1/stories/{quiet}/publish"), &ed,
            Some(json!({"version": 1, "changes": {"urgency": 1}}))).await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.body);
        assert!(app.db.store.breaking_of(quiet).await.expect("read").is_none(), "off by default");
        // With breaking.auto_urgency = 2: urgency 2 raises it, urgency 3 does not.
        let mut config = (*app.state.config).clone();
        config.breaking.auto_urgency = Some(2);
        app.state.config = std::sync::Arc::new(config);
        let urgent = draft(&app, &ed, "Urgent: raised").await;
        let routine = draft(&app, &ed, "Routine: not raised").await;
        for (id, urgency) in [(urgent, 2), (routine, 3)] {
            let a = api(&app, Method::POST, &format!("/api/v1/stories/{id}/publish"), &ed,
                Some(json!({"version": 1, "changes": {"urgency": urgency}}))).await;
            assert_eq!(a.status, StatusCode::OK, "{}", a.body);
        }
        let mark = app.db.store.breaking_of(urgent).await.expect("read").expect("raised");
        assert_eq!(mark.actor, "auto");
        assert!((mark.expires_at - Utc::now()).num_minutes() >= 118, "the default two hours");
        assert!(app.db.store.breaking_of(routine).await.expect("read").is_none());
        let b = page(&app.state, "/").await;
        assert!(banner(&b).is_some_and(|b| b.contains("Urgent: raised")), "{b}");
    }
}
