//! The desk's commands called directly, on SQLite and on PostgreSQL: the role
//! matrix for every command, the section scope (old and new section alike),
//! and the audit entry committed with its change (or not at all).

use chrono::{Duration, Utc};
use newsdesk_domain::StoryStatus;
use newsdesk_domain::comments::CommentStatus;
use newsdesk_domain::roles::{Permission, Role};
use newsdesk_domain::workflow::Action;
use newsdesk_storage::{AuditEntry, NewComment, NewUser, PostLimits, PostOutcome, Transition, backend_test};
use newsdesk_web::desk::{self, ActRequest, Actor, DeskError, SectionChoice, StoryChanges};

use crate::common;
use common::TestApp;

/// The seed story, published in section `iran`.
const SEED: i64 = 84427;

async fn actor(app: &TestApp, email: &str, role: Role) -> Actor {
    let u = app
        .db
        .store
        .create_user(
            &NewUser { email: email.into(), name: email.into(), role, password_hash: "x".into() },
            Utc::now(),
            &newsdesk_storage::AuditEntry::system("test", "user.create", "user", "", ""),
        )
        .await
        .expect("user");
    Actor { user_id: u.id, email: u.email, name: u.name, role, token_id: None }
}

fn story_in(section: i64, headline: &str) -> StoryChanges {
    StoryChanges {
        headline: Some(headline.into()),
        lead: Some("A lead.".into()),
        body: Some("A body.".into()),
        section: Some(SectionChoice::Id(section)),
        ..StoryChanges::default()
    }
}

fn moved_to(section: i64) -> StoryChanges {
    StoryChanges { section: Some(SectionChoice::Id(section)), ..StoryChanges::default() }
}

async fn version(app: &TestApp, id: i64) -> i64 {
    app.db.store.story(id).await.expect("story").expect("exists").version
}

async fn step(app: &TestApp, who: &Actor, id: i64, action: Action) -> Result<desk::Changed, DeskError> {
    let req = ActRequest {
        action,
        version: version(app, id).await,
        scheduled_at: None,
        public_note: None,
        reason: Some("A test takes it down.".into()),
        changes: None,
    };
    desk::act(&app.state, who, id, req).await
}

/// A story published by `admin` in `section`.
async fn published(app: &TestApp, admin: &Actor, section: i64, headline: &str) -> i64 {
    let edition = desk::edition_for_new(&app.state, None).expect("edition");
    let id = desk::create(&app.state, admin, &edition, story_in(section, headline)).await.expect("created");
    step(app, admin, id, Action::Publish).await.expect("published");
    id
}

/// A pending comment on story `news_id`.
async fn comment_on(app: &TestApp, news_id: i64, body: &str) -> i64 {
    let c = NewComment {
        news_id,
        parent_id: None,
        name: "Reader".into(),
        email: String::new(),
        body: body.into(),
        body_key: body.into(),
        ip_key: format!("ip-{body}"),
        status: CommentStatus::Pending,
    };
    let limits = PostLimits { per_ip: 0, per_story: 0, window_secs: 60, duplicate_secs: 0 };
    match app.db.store.post_comment(&c, &limits, Utc::now()).await.expect("comment") {
        PostOutcome::Stored(c) => c.id,
        other => panic!("comment refused: {other:?}"),
    }
}

async fn sections(app: &TestApp) -> (i64, i64) {
    let iran = app.db.store.sections(app.edition_id).await.expect("sections");
    let iran = iran.iter().find(|s| s.path == "iran").expect("iran").id;
    let world = app.db.store.ensure_section_path(app.edition_id, &["World".to_string()]).await.expect("world").id;
    (world, iran)
}

fn is_forbidden<T: std::fmt::Debug>(r: &Result<T, DeskError>) -> bool {
    matches!(r, Err(DeskError::Forbidden(_)))
}

async fn audit_of(app: &TestApp, id: i64) -> Vec<AuditEntry> {
    app.db.store.audit_log(Some(("story", &id.to_string())), 100).await.expect("audit log")
}

backend_test! {
    async fn every_command_follows_the_role_matrix(db) {
        let app = TestApp::new(db).await;
        let (world, _) = sections(&app).await;
        let admin = actor(&app, "boss@example.org", Role::Admin).await;
        let edition = desk::edition_for_new(&app.state, None).expect("edition");
        for role in Role::ALL {
            let who = actor(&app, &format!("{role}@example.org"), role).await;
            let target = published(&app, &admin, world, &format!("Target for {role}")).await;
            let draft = desk::create(&app.state, &admin, &edition, story_in(world, "Someone else's draft")).await.expect("draft");
            let comment = comment_on(&app, target, &format!("A comment for {role}")).await;
            let v = version(&app, target).await;
            // (what, the permission it needs, what the command answered)
            let mut answers: Vec<(&str, Permission, Result<(), DeskError>)> = vec![
                ("create", Permission::WriteStories,
                    desk::create(&app.state, &who, &edition, story_in(world, "Mine")).await.map(drop)),
                ("update another's story", Permission::EditAnyStory,
                    desk::update(&app.state, &who, target, v, StoryChanges { headline: Some(format!("Edited by {role}")), ..StoryChanges::default() }).await.map(drop)),
            ];
            answers.push(("submit another's draft", Permission::EditAnyStory, step(&app, &who, draft, Action::Submit).await.map(drop)));
            answers.push(("publish", Permission::Publish, step(&app, &who, draft, Action::Publish).await.map(drop)));
            let v = version(&app, target).await;
            answers.push(("correct", Permission::Publish, desk::correct(&app.state, &who, target, v, "Fixed.").await.map(drop)));
            answers.push(("translate", Permission::Publish, desk::translate(&app.state, &who, target, None).await.map(drop)));
            let first = app.db.store.revisions(target).await.expect("revisions").iter().map(|r| r.version).min().expect("a revision");
            let v = version(&app, target).await;
            answers.push(("restore", Permission::EditAnyStory, desk::restore(&app.state, &who, target, first, v).await.map(drop)));
            answers.push(("moderate", Permission::ModerateComments,
                desk::moderate_comments(&app.state, &who, &[comment], CommentStatus::Approved).await.map(drop)));
            answers.push(("close comments", Permission::ModerateComments, desk::close_comments(&app.state, &who, target, true).await.map(drop)));
            answers.push(("unpublish", Permission::Publish, step(&app, &who, target, Action::Unpublish).await.map(drop)));
            for (what, p, answer) in answers {
                if role.can(p) {
                    assert!(answer.is_ok(), "{role} may {what}: {answer:?}");
                } else {
                    assert!(is_forbidden(&answer), "{role} may not {what}: {answer:?}");
                }
            }
            // A photo no story shows is edited by every role that uploads (one that a published story shows: tests/media.rs).
            let photo = desk::edit_photo(&app.state, &who, 424_242, &desk::PhotoForm { caption: Some("Caption".into()), credit: Some("Credit".into()), ..Default::default() }).await;
            assert!(matches!(photo, Err(DeskError::NotFound(_))), "{role}: {photo:?}");
        }
    }
}

backend_test! {
    async fn an_editor_scoped_to_a_section_reaches_no_other_through_any_command(db) {
        let app = TestApp::new(db).await;
        let (world, iran) = sections(&app).await;
        let admin = actor(&app, "boss@example.org", Role::Admin).await;
        let editor = actor(&app, "world-desk@example.org", Role::Editor).await;
        app.db.store.set_user_sections(editor.user_id, &[world], &newsdesk_storage::AuditEntry::system("test", "user.sections", "user", "", "")).await.expect("scope");
        let edition = desk::edition_for_new(&app.state, None).expect("edition");
        let in_world = published(&app, &admin, world, "A World story").await;

        // Moves out of and into the scope are refused, and nothing is saved.
        let v = version(&app, in_world).await;
        assert!(is_forbidden(&desk::update(&app.state, &editor, in_world, v, moved_to(iran)).await), "World → Iran");
        let v = version(&app, SEED).await;
        assert!(is_forbidden(&desk::update(&app.state, &editor, SEED, v, moved_to(world)).await), "Iran → World");
        assert_eq!(app.db.store.story(in_world).await.expect("story").expect("exists").section_id, world);
        assert_eq!(app.db.store.story(SEED).await.expect("story").expect("exists").section_id, iran);

        // Publish in World, then move to Iran: the second step is refused.
        let own = desk::create(&app.state, &editor, &edition, story_in(world, "Own story")).await.expect("own draft");
        step(&app, &editor, own, Action::Publish).await.expect("published in World");
        let v = version(&app, own).await;
        assert!(is_forbidden(&desk::update(&app.state, &editor, own, v, moved_to(iran)).await), "publish then move");
        // An own draft may be written anywhere, but not published outside the scope.
        let elsewhere = desk::create(&app.state, &editor, &edition, story_in(iran, "Own draft in Iran")).await.expect("draft");
        step(&app, &editor, elsewhere, Action::Submit).await.expect("own drafts are submitted anywhere");
        assert!(is_forbidden(&step(&app, &editor, elsewhere, Action::Publish).await), "publish into Iran");
        assert_eq!(app.db.store.story(elsewhere).await.expect("story").expect("exists").status, StoryStatus::Submitted);

        // Every other command on a story in Iran.
        let v = version(&app, SEED).await;
        assert!(is_forbidden(&desk::correct(&app.state, &editor, SEED, v, "Fixed.").await), "correct");
        assert!(is_forbidden(&step(&app, &editor, SEED, Action::Unpublish).await), "unpublish");
        assert!(is_forbidden(&desk::translate(&app.state, &editor, SEED, Some(in_world)).await), "translate");
        assert!(is_forbidden(&desk::close_comments(&app.state, &editor, SEED, true).await), "close comments");
        let theirs = comment_on(&app, SEED, "On the Iran story").await;
        let ours = comment_on(&app, in_world, "On the World story").await;
        assert!(is_forbidden(&desk::moderate_comments(&app.state, &editor, &[ours, theirs], CommentStatus::Approved).await), "moderate");
        assert_eq!(app.db.store.comment(ours).await.expect("comment").expect("exists").status, CommentStatus::Pending, "all or nothing");
        // A revision from another section is a move too.
        let v = version(&app, in_world).await;
        desk::update(&app.state, &admin, in_world, v, moved_to(iran)).await.expect("the admin moves it");
        let v = version(&app, in_world).await;
        desk::update(&app.state, &admin, in_world, v, moved_to(world)).await.expect("and back");
        let revisions = app.db.store.revisions(in_world).await.expect("revisions");
        let in_iran = revisions.iter().find(|r| r.section_id == iran).expect("a revision in Iran").version;
        let v = version(&app, in_world).await;
        assert!(is_forbidden(&desk::restore(&app.state, &editor, in_world, in_iran, v).await), "restore into Iran");

        // Within World everything works.
        desk::moderate_comments(&app.state, &editor, &[ours], CommentStatus::Approved).await.expect("moderate in World");
        desk::close_comments(&app.state, &editor, in_world, true).await.expect("close in World");
        let v = version(&app, in_world).await;
        desk::correct(&app.state, &editor, in_world, v, "Fixed.").await.expect("correct in World");
    }
}

backend_test! {
    async fn a_scheduled_publish_commits_its_audit_entry(db) {
        let app = TestApp::new(db).await;
        let (world, _) = sections(&app).await;
        let admin = actor(&app, "boss@example.org", Role::Admin).await;
        let edition = desk::edition_for_new(&app.state, None).expect("edition");
        let id = desk::create(&app.state, &admin, &edition, story_in(world, "Embargoed")).await.expect("draft");
        let schedule = Transition {
            news_id: id,
            expected_version: version(&app, id).await,
            from: StoryStatus::Draft,
            to: StoryStatus::Scheduled,
            scheduled_at: Some(Utc::now() - Duration::seconds(5)),
            public_note: None,
            actor: admin.email.clone(),
            note: "schedule".into(),
        };
        app.db.store.transition(&schedule, &admin.audit("story.schedule", "story", id, "schedule")).await.expect("scheduled");
        assert_eq!(app.db.store.publish_due(Utc::now()).await.expect("tick"), vec![id]);
        let log = audit_of(&app, id).await;
        let entry = log.iter().find(|e| e.action == "story.publish").expect("the scheduled publish is audited");
        assert_eq!((entry.actor.as_str(), entry.user_id), ("scheduler", None));
        assert!(log.iter().any(|e| e.action == "story.create") && log.iter().any(|e| e.action == "story.schedule"));
    }
}

backend_test! {
    async fn a_refused_write_leaves_no_audit_entry(db) {
        let app = TestApp::new(db).await;
        let editor = actor(&app, "editor@example.org", Role::Editor).await;
        let before = audit_of(&app, SEED).await.len();
        let v = version(&app, SEED).await;
        // A stale version is found inside the transaction, which rolls back with its entry.
        let stale = desk::update(&app.state, &editor, SEED, v - 1, StoryChanges { headline: Some("Late".into()), ..StoryChanges::default() }).await;
        assert!(matches!(stale, Err(DeskError::Conflict { current_version: Some(c), .. }) if c == v), "{stale:?}");
        let stale = desk::correct(&app.state, &editor, SEED, v - 1, "Late.").await;
        assert!(matches!(stale, Err(DeskError::Conflict { .. })), "{stale:?}");
        let req = ActRequest { action: Action::Unpublish, version: v + 7, scheduled_at: None, public_note: None, reason: Some("Stale.".into()), changes: None };
        assert!(matches!(desk::act(&app.state, &editor, SEED, req).await, Err(DeskError::Conflict { .. })));
        // The store refuses a second version in the same edition inside the transaction.
        let e = desk::translate(&app.state, &editor, SEED, Some(SEED)).await;
        assert!(matches!(e, Err(DeskError::Invalid(_))), "{e:?}");
        assert_eq!(audit_of(&app, SEED).await.len(), before, "no entry for a write that did not happen");
        // A write that happens has its entry once it returns.
        desk::correct(&app.state, &editor, SEED, v, "Fixed.").await.expect("correct");
        let log = audit_of(&app, SEED).await;
        assert_eq!(log.len(), before + 1);
        assert_eq!((log[0].action.as_str(), log[0].actor.as_str()), ("story.correction", "editor@example.org"));
    }
}

backend_test! {
    async fn a_scoped_editor_links_no_translation_to_a_story_outside_the_scope(db) {
        let app = TestApp::new(db).await;
        let (world, _iran) = sections(&app).await;
        let admin = actor(&app, "boss@example.org", Role::Admin).await;
        let editor = actor(&app, "world-desk@example.org", Role::Editor).await;
        app.db.store.set_user_sections(editor.user_id, &[world], &AuditEntry::system("test", "user.sections", "user", "", "")).await.expect("scope");
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
            .expect("fa");
        let fa_world = app.db.store.ensure_section_path(fa.id, &["جهان".to_string()]).await.expect("section");
        app.state.editions.store(std::sync::Arc::new(app.db.store.editions().await.expect("editions")));
        // A Persian story the editor covers, linked as the translation of the seed (section Iran, not covered).
        app.db.store.set_user_sections(editor.user_id, &[world, fa_world.id], &AuditEntry::system("test", "user.sections", "user", "", "")).await.expect("scope");
        let fa_edition = desk::edition_for_new(&app.state, Some("fa")).expect("fa edition");
        let mine = desk::create(&app.state, &admin, &fa_edition, story_in(fa_world.id, "خبر")).await.expect("fa story");
        let refused = desk::translate(&app.state, &editor, mine, Some(SEED)).await;
        assert!(is_forbidden(&refused), "{refused:?}");
        assert!(app.db.store.translations(SEED).await.expect("translations").iter().all(|t| t.news_id != mine));
        // A story of the editor's scope can be linked.
        let in_world = published(&app, &admin, world, "A World story").await;
        desk::translate(&app.state, &editor, mine, Some(in_world)).await.expect("linked within the scope");
    }
}
