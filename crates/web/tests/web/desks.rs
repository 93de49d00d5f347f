//! Desks and stages through the back office, on SQLite and on PostgreSQL: an
//! admin makes a desk (with the default stages) and its members; members put
//! stories on it and move them stage by stage (counts per stage follow),
//! assign them, and the assignee finds them under "Mine"; reporters move only
//! their own stories, non-members nothing; only admins make desks; every
//! form needs the CSRF token; every change is in the audit log.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use newsdesk_domain::roles::Role;
use newsdesk_storage::backend_test;
use newsdesk_web::desk::{self, SectionChoice, StoryChanges};

use crate::common;
use common::{Answer, Person, TestApp};

/// The seed story (created by nobody in particular).
const SEED: i64 = 84427;

async fn get(app: &TestApp, p: &Person, uri: &str) -> Answer {
    let req = Request::get(uri)
        .header(header::COOKIE, &p.cookie)
        .header(header::ACCEPT, "text/html")
        .body(Body::empty())
        .expect("request");
    app.request(req).await
}

/// A form post from our own page, with `p`'s CSRF token unless `csrf` is false.
async fn post_with(app: &TestApp, p: &Person, uri: &str, form: &[(&str, &str)], csrf: bool) -> Answer {
    let mut fields: Vec<(&str, &str)> = form.to_vec();
    if csrf {
        fields.push(("csrf", &p.csrf));
    }
    let req = Request::post(uri)
        .header(header::COOKIE, &p.cookie)
        .header(header::ACCEPT, "text/html")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header("sec-fetch-site", "same-origin")
        .body(Body::from(serde_urlencoded::to_string(&fields).expect("form")))
        .expect("request");
    app.request(req).await
}

async fn post(app: &TestApp, p: &Person, uri: &str, form: &[(&str, &str)]) -> Answer {
    post_with(app, p, uri, form, true).await
}

fn location(a: &Answer) -> &str {
    a.headers.get(header::LOCATION).and_then(|v| v.to_str().ok()).unwrap_or("")
}

/// Creates desk `name` as `admin` through the form; its id.
async fn new_desk(app: &TestApp, admin: &Person, name: &str) -> i64 {
    let a = post(app, admin, "/admin/desks", &[("name", name)]).await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
    // The desk's settings page, with the confirmation of its creation.
    let id = location(&a).trim_start_matches("/admin/desks/").trim_end_matches("/settings?notice=desk-created");
    id.parse().unwrap_or_else(|_| panic!("desk id in {}", location(&a)))
}

async fn add_member(app: &TestApp, admin: &Person, desk: i64, p: &Person) {
    let uid = p.actor.user_id.to_string();
    let a = post(app, admin, &format!("/admin/desks/{desk}/members"), &[("user_id", &uid), ("member", "1")]).await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
}

async fn stages(app: &TestApp, desk: i64) -> Vec<(i64, String)> {
    app.db.store.desk_stages(desk).await.expect("stages").into_iter().map(|s| (s.id, s.name)).collect()
}

/// `N` in the board's column header of stage `name`.
fn count_of(board: &str, name: &str) -> String {
    let head = format!("<bdi>{name}</bdi> <span class=\"desk-count\">");
    let at = board.find(&head).unwrap_or_else(|| panic!("stage {name} in {board}"));
    board[at + head.len()..].split('<').next().unwrap_or_default().to_string()
}

/// The column of stage `name` on a board page.
fn column<'a>(board: &'a str, name: &str) -> &'a str {
    let head = format!("<bdi>{name}</bdi> <span class=\"desk-count\">");
    let at = board.find(&head).unwrap_or_else(|| panic!("stage {name}"));
    board[at..].split("</section>").next().unwrap_or_default()
}

async fn move_to(app: &TestApp, p: &Person, news_id: i64, to: &str) -> Answer {
    post(app, p, &format!("/admin/stories/{news_id}/desk"), &[("to", to), ("back", "/admin/desks/mine")]).await
}

backend_test! {
    async fn a_story_moves_through_the_stages_of_a_desk_with_counts_and_audit(db) {
        let app = TestApp::new(db).await;
        let admin = app.person("Ada Admin", Role::Admin).await;
        let ann = app.person("Ann Editor", Role::Editor).await;
        let world = new_desk(&app, &admin, "World").await;
        let s = stages(&app, world).await;
        assert_eq!(s.iter().map(|(_, n)| n.as_str()).collect::<Vec<_>>(), ["Incoming", "Working", "Ready"], "the default stages");
        add_member(&app, &admin, world, &ann).await;
        let settings = get(&app, &admin, &format!("/admin/desks/{world}/settings")).await;
        assert!(settings.status == StatusCode::OK && settings.body.contains("ann.editor@example.org"), "{}", settings.body);

        // Ann puts the seed story on the desk by its News ID: it lands in Incoming.
        let a = post(&app, &ann, &format!("/admin/desks/{world}/stories"), &[("news_id", "84427"), ("stage", "")]).await;
        assert_eq!((a.status, location(&a)), (StatusCode::SEE_OTHER, format!("/admin/desks/{world}?done=1").as_str()), "{}", a.body);
        let board = get(&app, &ann, &format!("/admin/desks/{world}")).await;
        assert_eq!(board.status, StatusCode::OK);
        assert_eq!(count_of(&board.body, "Incoming"), "1");
        assert!(column(&board.body, "Incoming").contains("/admin/stories/84427/edit\" lang=\"en\" dir=\"ltr\""), "the headline in its edition's language");
        // Incoming → Working → Ready, by the card's form.
        for (stage, name) in [(s[1].0, "Working"), (s[2].0, "Ready")] {
            let a = move_to(&app, &ann, SEED, &format!("{world}:{stage}")).await;
            assert_eq!((a.status, location(&a)), (StatusCode::SEE_OTHER, "/admin/desks/mine"), "{}", a.body);
            let place = app.db.store.story_place(SEED).await.expect("place").expect("on the desk");
            assert_eq!((place.desk_id, place.stage_id), (world, stage), "in {name}");
        }
        let board = get(&app, &ann, &format!("/admin/desks/{world}")).await;
        assert_eq!([count_of(&board.body, "Incoming"), count_of(&board.body, "Working"), count_of(&board.body, "Ready")], ["0", "0", "1"]);
        assert!(column(&board.body, "Ready").contains("84427"));
        // The desk is not the public section: the story's section did not change.
        let story = app.db.store.story(SEED).await.expect("story").expect("seed");
        let board_section = app.db.store.section_path(story.section_id).await.expect("path");
        assert!(board_section.is_some());
        // Every step is in the audit log, with who did it.
        let log = app.db.store.audit_log(Some(("story", "84427")), 20).await.expect("audit");
        let moves: Vec<_> = log.iter().filter(|e| e.action == "story.desk.move").collect();
        assert_eq!(moves.len(), 3, "{log:?}");
        assert!(moves.iter().all(|e| e.actor == "ann.editor@example.org"));
        assert!(moves.iter().any(|e| e.detail == "World › Working → World › Ready"), "{moves:?}");
        let desk_log = app.db.store.audit_log(Some(("desk", &world.to_string())), 20).await.expect("audit");
        let actions: Vec<&str> = desk_log.iter().map(|e| e.action.as_str()).collect();
        assert!(actions.contains(&"desk.create") && actions.contains(&"desk.member.add"), "{actions:?}");
    }
}

backend_test! {
    async fn an_assigned_story_is_in_the_assignees_mine_view_first(db) {
        let app = TestApp::new(db).await;
        let admin = app.person("Ada Admin", Role::Admin).await;
        let ann = app.person("Ann Editor", Role::Editor).await;
        let rita = app.person("Rita Reporter", Role::Reporter).await;
        let outsider = app.person("Otto Outsider", Role::Editor).await;
        let world = new_desk(&app, &admin, "World").await;
        add_member(&app, &admin, world, &ann).await;
        add_member(&app, &admin, world, &rita).await;
        let other = app.add_story(&["World"], "A later story", 10).await;
        for id in [SEED, other] {
            let a = post(&app, &ann, &format!("/admin/desks/{world}/stories"), &[("news_id", &id.to_string())]).await;
            assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
        }
        let rita_id = rita.actor.user_id.to_string();
        let a = post(&app, &ann, "/admin/stories/84427/assignee", &[("assignee", &rita_id), ("back", "")]).await;
        assert_eq!((a.status, location(&a)), (StatusCode::SEE_OTHER, format!("/admin/desks/{world}").as_str()), "{}", a.body);
        // Only members can be assigned.
        let otto = outsider.actor.user_id.to_string();
        let a = post(&app, &ann, "/admin/stories/84427/assignee", &[("assignee", &otto)]).await;
        assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", a.body);

        let mine = get(&app, &rita, "/admin/desks/mine").await;
        assert_eq!(mine.status, StatusCode::OK);
        assert!(mine.body.contains("/admin/stories/84427/edit") && !mine.body.contains(&format!("/admin/stories/{other}/edit")), "{}", mine.body);
        assert!(get(&app, &ann, "/admin/desks/mine").await.body.contains("Nothing is assigned to you."));
        // On the board Rita's story comes first in Incoming, though the other moved later.
        let board = get(&app, &rita, &format!("/admin/desks/{world}")).await.body;
        let incoming = column(&board, "Incoming");
        let (seed_at, other_at) = (incoming.find("84427/edit").expect("seed"), incoming.find(&format!("{other}/edit")).expect("other"));
        assert!(seed_at < other_at, "the assignee sees it first");
        assert!(incoming.contains("Rita Reporter</bdi> (you)"));
        // The assignee filter.
        let filtered = get(&app, &ann, &format!("/admin/desks/{world}?assignee={rita_id}")).await.body;
        assert_eq!(count_of(&filtered, "Incoming"), "1 of 2");
        let log = app.db.store.audit_log(Some(("story", "84427")), 20).await.expect("audit");
        assert!(log.iter().any(|e| e.action == "story.desk.assign" && e.detail == "assigned to Rita Reporter"), "{log:?}");
    }
}

backend_test! {
    async fn reporters_move_only_their_own_stories_and_non_members_nothing(db) {
        let app = TestApp::new(db).await;
        let admin = app.person("Ada Admin", Role::Admin).await;
        let rita = app.person("Rita Reporter", Role::Reporter).await;
        let otto = app.person("Otto Outsider", Role::Editor).await;
        let world = new_desk(&app, &admin, "World").await;
        add_member(&app, &admin, world, &rita).await;
        let s = stages(&app, world).await;
        let seed = app.db.store.story(SEED).await.expect("story").expect("seed");
        let edition = desk::edition_for_new(&app.state, None).expect("edition");
        let changes = StoryChanges {
            headline: Some("Rita's own".into()),
            lead: Some("A lead.".into()),
            body: Some("A body.".into()),
            section: Some(SectionChoice::Id(seed.section_id)),
            ..StoryChanges::default()
        };
        let own = desk::create(&app.state, &rita.actor, &edition, changes).await.expect("draft");
        // Admin puts the seed story on the desk; Rita may not move it, but moves her own.
        assert_eq!(post(&app, &admin, &format!("/admin/desks/{world}/stories"), &[("news_id", "84427")]).await.status, StatusCode::SEE_OTHER);
        let a = move_to(&app, &rita, SEED, &format!("{world}:{}", s[1].0)).await;
        assert_eq!(a.status, StatusCode::FORBIDDEN, "{}", a.body);
        assert!(a.body.contains("only their own stories"));
        assert_eq!(app.db.store.story_place(SEED).await.expect("place").expect("on").stage_id, s[0].0, "not moved");
        let a = post(&app, &rita, &format!("/admin/desks/{world}/stories"), &[("news_id", &own.to_string()), ("stage", &s[1].0.to_string())]).await;
        assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
        // Otto is on no desk: no board, no moves, no assignments.
        assert_eq!(get(&app, &otto, &format!("/admin/desks/{world}")).await.status, StatusCode::FORBIDDEN);
        assert_eq!(move_to(&app, &otto, SEED, &format!("{world}:{}", s[2].0)).await.status, StatusCode::FORBIDDEN);
        assert_eq!(post(&app, &otto, "/admin/stories/84427/assignee", &[("assignee", "")]).await.status, StatusCode::FORBIDDEN);
        assert!(!get(&app, &otto, "/admin/desks").await.body.contains(&format!("/admin/desks/{world}\"")), "not in Otto's list");
        let log = app.db.store.audit_log(Some(("story", "84427")), 20).await.expect("audit");
        assert_eq!(log.iter().filter(|e| e.action.starts_with("story.desk")).count(), 1, "refusals wrote nothing");
    }
}

backend_test! {
    async fn only_admins_make_desks_and_every_form_needs_the_csrf_token(db) {
        let app = TestApp::new(db).await;
        let admin = app.person("Ada Admin", Role::Admin).await;
        let ann = app.person("Ann Editor", Role::Editor).await;
        assert_eq!(post(&app, &ann, "/admin/desks", &[("name", "Iran")]).await.status, StatusCode::FORBIDDEN);
        let without = post_with(&app, &admin, "/admin/desks", &[("name", "Iran")], false).await;
        assert_eq!(without.status, StatusCode::FORBIDDEN);
        assert!(app.db.store.desk_list(None).await.expect("desks").is_empty(), "nothing was created");
        let iran = new_desk(&app, &admin, "Iran").await;
        add_member(&app, &admin, iran, &ann).await;
        assert_eq!(post(&app, &ann, &format!("/admin/desks/{iran}/stages"), &[("name", "Legal")]).await.status, StatusCode::FORBIDDEN);
        assert_eq!(get(&app, &ann, &format!("/admin/desks/{iran}/settings")).await.status, StatusCode::FORBIDDEN);
        let a = post_with(&app, &ann, &format!("/admin/desks/{iran}/stories"), &[("news_id", "84427")], false).await;
        assert_eq!(a.status, StatusCode::FORBIDDEN);
        assert_eq!(app.db.store.story_place(SEED).await.expect("place"), None);
        // The menu shows Desks to everyone in the back office.
        assert!(get(&app, &ann, "/admin").await.body.contains("<a href=\"/admin/desks\">Desks</a>"));
    }
}

backend_test! {
    async fn names_stages_and_ids_are_checked_with_clear_errors(db) {
        let app = TestApp::new(db).await;
        let admin = app.person("Ada Admin", Role::Admin).await;
        let a = post(&app, &admin, "/admin/desks", &[("name", "   ")]).await;
        assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(a.body.contains("Give the desk a name."), "{}", a.body);
        let world = new_desk(&app, &admin, "World").await;
        let persian = new_desk(&app, &admin, "Persian service").await;
        let a = post(&app, &admin, "/admin/desks", &[("name", " World ")]).await;
        assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(a.body.contains("There is already a desk called “World”."), "{}", a.body);
        assert_eq!(get(&app, &admin, "/admin/desks/999999").await.status, StatusCode::NOT_FOUND);
        assert_eq!(post(&app, &admin, "/admin/desks/999999/stories", &[("news_id", "84427")]).await.status, StatusCode::NOT_FOUND);
        assert_eq!(post(&app, &admin, &format!("/admin/desks/{world}/stories"), &[("news_id", "999999")]).await.status, StatusCode::NOT_FOUND);
        let a = post(&app, &admin, &format!("/admin/desks/{world}/stories"), &[("news_id", "abc")]).await;
        assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
        // A stage of another desk is refused.
        let theirs = stages(&app, persian).await[1].0;
        let a = move_to(&app, &admin, SEED, &format!("{world}:{theirs}")).await;
        assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(a.body.contains("is on another desk"), "{}", a.body);
        assert_eq!(app.db.store.story_place(SEED).await.expect("place"), None);
        // Stages: add, a duplicate refused, rename, reorder, delete only when empty.
        let settings = format!("/admin/desks/{world}/stages");
        assert_eq!(post(&app, &admin, &settings, &[("name", "Legal")]).await.status, StatusCode::SEE_OTHER);
        assert_eq!(post(&app, &admin, &settings, &[("name", "Legal")]).await.status, StatusCode::UNPROCESSABLE_ENTITY);
        let s = stages(&app, world).await;
        let legal = s[3].0;
        assert_eq!(post(&app, &admin, &format!("{settings}/{legal}"), &[("action", "rename"), ("name", "Lawyers")]).await.status, StatusCode::SEE_OTHER);
        assert_eq!(post(&app, &admin, &format!("{settings}/{legal}"), &[("action", "up")]).await.status, StatusCode::SEE_OTHER);
        let names: Vec<String> = stages(&app, world).await.into_iter().map(|(_, n)| n).collect();
        assert_eq!(names, ["Incoming", "Working", "Lawyers", "Ready"]);
        assert_eq!(post(&app, &admin, &format!("{settings}/{theirs}"), &[("action", "delete")]).await.status, StatusCode::NOT_FOUND, "a stage of another desk");
        move_to(&app, &admin, SEED, &format!("{world}:{legal}")).await;
        let a = post(&app, &admin, &format!("{settings}/{legal}"), &[("action", "delete")]).await;
        assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(a.body.contains("still holds 1 story"), "{}", a.body);
        move_to(&app, &admin, SEED, &world.to_string()).await;
        assert_eq!(app.db.store.story_place(SEED).await.expect("place").expect("on").stage_id, s[0].0, "a desk alone means its first stage");
        assert_eq!(post(&app, &admin, &format!("{settings}/{legal}"), &[("action", "delete")]).await.status, StatusCode::SEE_OTHER);
        assert_eq!(stages(&app, world).await.len(), 3);
        // Off the desks.
        assert_eq!(move_to(&app, &admin, SEED, "none").await.status, StatusCode::SEE_OTHER);
        assert_eq!(app.db.store.story_place(SEED).await.expect("place"), None);
        // A desk name with markup is shown as text.
        new_desk(&app, &admin, "<b>Bold</b>").await;
        let list = get(&app, &admin, "/admin/desks").await.body;
        assert!(list.contains("&lt;b&gt;Bold&lt;/b&gt;") && !list.contains("<b>Bold</b>"));
    }
}
