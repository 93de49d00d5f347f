//! The newsroom search (`/admin/search`) through the real router, with a real
//! index following the change log, on SQLite and on PostgreSQL: drafts are
//! found (readers' search still finds only published stories), a reporter
//! finds only their own stories, Persian is normalized as in readers' search,
//! desk moves reach the index, and bad parameters are a clear 400.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use newsdesk_domain::roles::Role;
use newsdesk_domain::{BodyFormat, StoryStatus};
use newsdesk_search::{SearchIndex, reindex_all};
use newsdesk_storage::{Follower, NewEdition, SectionRef, StoryInput, backend_test};
use newsdesk_web::desk::{self, AgencyChanges, SectionChoice, StoryChanges};

use crate::common;
use common::{Answer, TestApp, main_of};

/// Applies the change log to the index as each node's follower does.
async fn catch_up(index: &Arc<SearchIndex>, app: &TestApp, follower: &mut Follower) {
    newsdesk_search::update(index, &app.db.store, follower).await.expect("index follows the log");
}

/// News IDs in the order the results table lists them.
fn found(a: &Answer) -> Vec<i64> {
    let main = main_of(&a.body);
    main.match_indices("<a href=\"/admin/stories/")
        .filter_map(|(at, m)| main[at + m.len()..].split('/').next()?.parse().ok())
        .collect()
}

backend_test! {
    async fn the_newsroom_finds_drafts_by_word_for_those_who_may_see_them(db) {
        let mut app = TestApp::new(db).await;
        let fa = app
            .db
            .store
            .upsert_edition(&NewEdition {
                lang: "fa".into(),
                name: "خبرگزاری آزمون".into(),
                direction: newsdesk_domain::Direction::Rtl,
                time_zone: chrono_tz::Asia::Tehran,
                is_default: false,
            })
            .await
            .expect("edition");
        app.state.editions.store(Arc::new(app.db.store.editions().await.expect("editions")));
        // A published Persian story makes the edition's section.
        let (fa_story, _) = app
            .db
            .store
            .save_story(&StoryInput {
                news_id: None,
                edition_id: fa.id,
                section: SectionRef::Names(vec!["ایران".into()]),
                slug: None,
                headline: "گزارش هواشناسی".into(),
                lead: String::new(),
                body_source: "باران می‌بارد.".into(),
                body_format: BodyFormat::Text,
                photo_id: None,
                gallery_id: None,
                status: StoryStatus::Published,
                published_at: Some(common::seed_time()),
                tags: Vec::new(),
                authors: Vec::new(),
                actor: "test".into(),
                agency: None,
            })
            .await
            .expect("persian story");
        let fa_section = app.db.store.story(fa_story).await.expect("read").expect("story").section_id;
        let dir = tempfile::tempdir().expect("dir");
        let index = Arc::new(SearchIndex::open_or_create(&dir.path().join("search")).expect("index"));
        reindex_all(&index, &app.db.store).await.expect("rebuild");
        let mut follower =
            Follower::new("search", app.db.store.clone(), index.applied_change().unwrap_or_default(), Duration::from_millis(50));
        app.state.search = Some(Arc::clone(&index));

        let rita = app.person("Rita Reporter", Role::Reporter).await;
        let otto = app.person("Otto Reporter", Role::Reporter).await;
        let ed = app.person("Ed Editor", Role::Editor).await;
        let fa_edition = app.state.editions.load().iter().find(|e| e.id == fa.id).cloned().expect("fa");
        let en_edition = desk::edition_for_new(&app.state, None).expect("en");
        let seed = app.db.store.story(84427).await.expect("read").expect("seed");

        // Rita's Persian draft, Ed's English draft with markup in its headline.
        let persian = desk::create(&app.state, &rita.actor, &fa_edition, StoryChanges {
            headline: Some("ایران صادرات تجهیزات دفاعی را افزایش داد".into()),
            body: Some("کارشناسان می‌گویند فروش سامانه‌های پدافندی دو برابر شد.".into()),
            section: Some(SectionChoice::Id(fa_section)),
            agency: AgencyChanges {
                slugline: Some("ایران-صادرات-دفاعی".into()),
                urgency: Some(2),
                ..AgencyChanges::default()
            },
            ..StoryChanges::default()
        })
        .await
        .expect("persian draft");
        let budget = desk::create(&app.state, &ed.actor, &en_edition, StoryChanges {
            headline: Some("Secret <b>budget</b> talks".into()),
            body: Some("The budget draft is not public yet.".into()),
            section: Some(SectionChoice::Id(seed.section_id)),
            ..StoryChanges::default()
        })
        .await
        .expect("english draft");
        catch_up(&index, &app, &mut follower).await;

        // Readers' search does not find drafts.
        let public = app.get("/search?q=budget").await;
        assert_eq!(public.status, StatusCode::OK);
        assert!(!public.body.contains("Secret"), "a draft reached readers' search");

        // Typed with Arabic yeh (ي), found in Persian text written with Persian yeh (ی).
        let a = app.get_as(&rita, "/admin/search?q=%D8%AA%D8%AC%D9%87%D9%8A%D8%B2%D8%A7%D8%AA+%D8%AF%D9%81%D8%A7%D8%B9%D9%8A").await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.body);
        assert_eq!(found(&a), vec![persian]);
        assert!(main_of(&a.body).contains("lang=\"fa\" dir=\"rtl\""), "Persian rows are right to left");
        assert!(main_of(&a.body).contains("<mark>"), "matched words are marked");
        // Found by its slugline, typed with Arabic yeh and hyphens; shown with its urgency.
        let a = app.get_as(&rita, "/admin/search?q=%D8%A7%D9%8A%D8%B1%D8%A7%D9%86-%D8%B5%D8%A7%D8%AF%D8%B1%D8%A7%D8%AA").await;
        assert_eq!(found(&a), vec![persian]);
        assert!(main_of(&a.body).contains("ایران-صادرات-دفاعی"), "{}", main_of(&a.body));
        assert_eq!(found(&app.get_as(&rita, "/admin/search?urgency=2").await), vec![persian]);
        // A reporter finds only their own stories: not Ed's draft, not the seed, not Rita's as Otto.
        assert!(found(&app.get_as(&rita, "/admin/search?q=budget").await).is_empty());
        assert!(found(&app.get_as(&otto, "/admin/search?q=%D8%AA%D8%AC%D9%87%DB%8C%D8%B2%D8%A7%D8%AA").await).is_empty());
        // An editor finds every story in every state, escaped.
        let a = app.get_as(&ed, "/admin/search?q=budget").await;
        assert_eq!(found(&a), vec![budget]);
        assert!(a.body.contains("Secret &lt;b&gt;<mark>budget</mark>&lt;/b&gt; talks"), "{}", main_of(&a.body));
        assert!(!a.body.contains("<b>budget"));
        // The passage of the draft's body, read from the database (the index keeps no bodies).
        assert!(a.body.contains("The <mark>budget</mark> draft is not public yet"), "{}", main_of(&a.body));
        assert_eq!(found(&app.get_as(&ed, "/admin/search?q=defense+ministry&status=published").await), vec![84427]);
        assert!(found(&app.get_as(&ed, "/admin/search?q=budget&status=published").await).is_empty());
        assert_eq!(found(&app.get_as(&ed, "/admin/search?status=draft&edition=fa").await), vec![persian]);

        // A desk move reaches the index through the change log.
        let admin = app.person("Ada Admin", Role::Admin).await;
        let audit = newsdesk_storage::AuditEntry {
            at: chrono::Utc::now(),
            actor: admin.actor.email.clone(),
            user_id: Some(admin.actor.user_id),
            action: "desk.create".into(),
            target_kind: "desk".into(),
            target_id: String::new(),
            detail: String::new(),
        };
        let world = app
            .db
            .store
            .create_desk("World", &["Incoming", "Working", "Ready"], chrono::Utc::now(), &audit)
            .await
            .expect("desk");
        app.db
            .store
            .place_story(budget, world.id, None, admin.actor.user_id, chrono::Utc::now(), &audit)
            .await
            .expect("placed");
        catch_up(&index, &app, &mut follower).await;
        let a = app.get_as(&ed, &format!("/admin/search?desk={}", world.id)).await;
        assert_eq!(found(&a), vec![budget]);
        assert!(main_of(&a.body).contains("World › Incoming"), "{}", main_of(&a.body));

        // A spiked draft is still found (marked), and alone under "spiked".
        let spike = Request::post(format!("/api/v1/stories/{persian}/spike"))
            .header(header::AUTHORIZATION, format!("Bearer {}", rita.token))
            .body(Body::empty())
            .expect("request");
        assert_eq!(app.request(spike).await.status, StatusCode::OK);
        catch_up(&index, &app, &mut follower).await;
        let a = app.get_as(&rita, "/admin/search?status=spiked").await;
        assert_eq!(found(&a), vec![persian], "{}", main_of(&a.body));
        assert!(main_of(&a.body).contains("status spiked"), "{}", main_of(&a.body));
        assert!(found(&app.get_as(&ed, "/admin/search?status=spiked&q=budget").await).is_empty());

        // Bad parameters are a 400 that says which.
        for (uri, says) in [
            ("/admin/search?urgency=9", "urgency"),
            ("/admin/search?q=x&sort=size", "sort"),
            ("/admin/search?q=x&page=0", "page"),
            ("/admin/search?desk=99999", "no desk"),
            ("/admin/search?status=lost", "no status"),
            ("/admin/search?from=yesterday", "from"),
            ("/admin/search?edition=xx", "no edition"),
        ] {
            let a = app.get_as(&ed, uri).await;
            assert_eq!(a.status, StatusCode::BAD_REQUEST, "{uri}");
            assert!(a.body.contains(says), "{uri}: {}", a.body);
        }
        // Nobody signed in: the login form, not results.
        assert_eq!(app.get("/admin/search?q=budget").await.status, StatusCode::UNAUTHORIZED);
    }
}
