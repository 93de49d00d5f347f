//! The newsroom in the languages it writes, on SQLite and on PostgreSQL:
//! Persian copy is edited and listed right to left, the story list filters by
//! edition and names people; and the public pages' small contracts (story
//! cards carry the headline alone, the 410 page of a withdrawn story speaks
//! its edition's language, `/admin/` leads to the back office).

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use chrono::{Duration, Utc};
use newsdesk_domain::comments::CommentStatus;
use newsdesk_domain::roles::Role;
use newsdesk_domain::{BodyFormat, Direction, StoryStatus};
use newsdesk_storage::{AuditEntry, NewComment, NewEdition, NewUser, PostLimits, SectionRef, StoryInput, backend_test};
use sha2::{Digest, Sha256};

use crate::common;
use common::{Answer, SEED_HEADLINE, SEED_PATH, TestApp, seed_time};

const FA_HEADLINE: &str = "وزارت دفاع: ایران به فناوری‌های نوین نظامی دست می‌یابد";
const AR_HEADLINE: &str = "وزارة الدفاع: إيران تحصل على تقنيات عسكرية حديثة";

/// A logged-in browser: its session cookie and CSRF token.
struct Session {
    cookie: String,
    csrf: String,
}

/// A user with a name unlike their e-mail address, logged in.
async fn login(app: &TestApp, email: &str, name: &str, role: Role) -> Session {
    let user = app
        .db
        .store
        .create_user(
            &NewUser { email: email.into(), name: name.into(), role, password_hash: String::new() },
            Utc::now(),
            &AuditEntry::system("test", "user.create", "user", "", ""),
        )
        .await
        .expect("user");
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    let token = format!("{:064x}", nanos ^ ((user.id as u128) << 64));
    let csrf = format!("{:064x}", nanos.rotate_left(17) ^ (user.id as u128));
    let hash = hex::encode(Sha256::digest(token.as_bytes()));
    let now = Utc::now();
    app.db.store.create_session(&hash, user.id, &csrf, now, now + Duration::hours(1)).await.expect("session");
    Session { cookie: format!("nd_session={token}"), csrf }
}

async fn get_as(app: &TestApp, s: &Session, uri: &str) -> Answer {
    let req = Request::builder()
        .uri(uri)
        .header(header::ACCEPT, "text/html")
        .header(header::COOKIE, &s.cookie)
        .body(Body::empty())
        .expect("request");
    app.request(req).await
}

async fn post_as(app: &TestApp, s: &Session, uri: &str, form: &[(&str, &str)]) -> Answer {
    let mut fields: Vec<(&str, &str)> = form.to_vec();
    fields.push(("csrf", &s.csrf));
    let req = Request::builder()
        .method(Method::POST)
        .uri(uri)
        .header(header::ACCEPT, "text/html")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header("sec-fetch-site", "same-origin")
        .header(header::COOKIE, &s.cookie)
        .body(Body::from(serde_urlencoded::to_string(&fields).expect("form")))
        .expect("request");
    app.request(req).await
}

/// Adds an edition with one published story in it; returns (edition id, News ID).
async fn edition_with_story(app: &TestApp, lang: &str, name: &str, headline: &str, section: &str) -> (i64, i64) {
    let e = app
        .db
        .store
        .upsert_edition(&NewEdition {
            lang: lang.into(),
            name: name.into(),
            direction: Direction::Rtl,
            time_zone: chrono_tz::Asia::Tehran,
            is_default: false,
        })
        .await
        .expect("edition");
    let id = app
        .db
        .store
        .save_story(&StoryInput {
            news_id: None,
            edition_id: e.id,
            section: SectionRef::Names(vec![section.into()]),
            slug: None,
            headline: headline.into(),
            lead: "وزارت دفاع ایران به سوی ساخت تجهیزات نظامی پیشگام حرکت می‌کند.".into(),
            body_source: "سردار سرتیپ مهدی فرحی این سخنان را بیان کرد.".into(),
            body_format: BodyFormat::Text,
            photo_id: None,
            gallery_id: None,
            status: StoryStatus::Published,
            published_at: Some(seed_time() + Duration::minutes(5)),
            tags: vec!["دفاعی".into()],
            authors: Vec::new(),
            agency: None,
            actor: "test".into(),
        })
        .await
        .expect("story")
        .0;
    app.state.editions.store(std::sync::Arc::new(app.db.store.editions().await.expect("editions")));
    app.sync().await;
    (e.id, id)
}

/// The opening tag of the element whose attributes contain `marker` (e.g. `name="headline"`).
fn tag_with<'a>(html: &'a str, marker: &str) -> &'a str {
    let at = html.find(marker).unwrap_or_else(|| panic!("no {marker} in the page:\n{html}"));
    let start = html[..at].rfind('<').expect("tag start");
    let end = at + html[at..].find('>').expect("tag end");
    &html[start..=end]
}

fn assert_dir(html: &str, marker: &str, lang: &str, dir: &str) {
    let tag = tag_with(html, marker);
    assert!(
        tag.contains(&format!("lang=\"{lang}\"")) && tag.contains(&format!("dir=\"{dir}\"")),
        "{marker} should be lang={lang} dir={dir}: {tag}"
    );
}

async fn version_of(app: &TestApp, id: i64) -> String {
    app.db.store.story(id).await.expect("read").expect("story").version.to_string()
}

backend_test! {
    async fn persian_copy_is_edited_right_to_left_and_english_left_to_right(db) {
        let app = TestApp::new(db).await;
        let (_, fa) = edition_with_story(&app, "fa", "خبرگزاری آزمون", FA_HEADLINE, "ایران").await;
        let editor = login(&app, "editor@example.org", "Sara Editor", Role::Editor).await;
        let page = get_as(&app, &editor, &format!("/admin/stories/{fa}/edit")).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        for field in ["name=\"headline\"", "name=\"lead\"", "name=\"body\"", "name=\"tags\"", "name=\"authors\"", "name=\"slug\"", "id=\"preview\"", "name=\"correction_note\""] {
            assert_dir(&page.body, field, "fa", "rtl");
        }
        // Notes by and for the newsroom may be in any language.
        assert!(tag_with(&page.body, "name=\"editorial_note\"").contains("dir=\"auto\""));
        // The English seed story stays left to right.
        let page = get_as(&app, &editor, "/admin/stories/84427/edit").await;
        for field in ["name=\"headline\"", "name=\"lead\"", "name=\"body\"", "id=\"preview\""] {
            assert_dir(&page.body, field, "en", "ltr");
        }
        // A new story takes its edition's direction (the edition tabs reload the form).
        let page = get_as(&app, &editor, "/admin/stories/new?edition=fa").await;
        for field in ["name=\"headline\"", "name=\"lead\"", "name=\"body\""] {
            assert_dir(&page.body, field, "fa", "rtl");
        }
        assert_dir(&get_as(&app, &editor, "/admin/stories/new").await.body, "name=\"headline\"", "en", "ltr");
        // Revisions show the copy in its direction too.
        let page = get_as(&app, &editor, &format!("/admin/stories/{fa}/revisions")).await;
        assert_dir(&page.body, FA_HEADLINE, "fa", "rtl");
    }
}

backend_test! {
    async fn story_list_has_an_edition_column_and_filter_and_names_people(db) {
        let app = TestApp::new(db).await;
        edition_with_story(&app, "fa", "خبرگزاری آزمون", FA_HEADLINE, "ایران").await;
        let editor = login(&app, "s.editor@example.org", "Sara Editor", Role::Editor).await;
        let section = app.db.store.sections(app.edition_id).await.expect("sections")[0].id.to_string();
        let a = post_as(&app, &editor, "/admin/stories", &[("headline", "Budget talks resume"), ("section_id", &section)]).await;
        assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);

        let all = get_as(&app, &editor, "/admin/stories").await;
        assert_eq!(all.status, StatusCode::OK);
        assert!(all.body.contains("<th>Edition</th>"), "an Edition column");
        assert!(all.body.contains("Budget talks resume") && all.body.contains(SEED_HEADLINE) && all.body.contains(FA_HEADLINE));
        // The Persian headline's cell is right to left, the English ones left to right.
        let fa_cell = all.body[..all.body.find(FA_HEADLINE).expect("fa row")].rfind("<td").expect("cell");
        assert!(all.body[fa_cell..].starts_with("<td class=\"headline\" lang=\"fa\" dir=\"rtl\">"), "{}", &all.body[fa_cell..fa_cell + 80]);
        let en_cell = all.body[..all.body.find("Budget talks resume").expect("en row")].rfind("<td").expect("cell");
        assert!(all.body[en_cell..].starts_with("<td class=\"headline\" lang=\"en\" dir=\"ltr\">"));
        // "By" names the person, not their e-mail address.
        assert!(all.body.contains(">Sara Editor</td>"), "the creator's name");
        assert!(!all.body.contains("s.editor@example.org"), "no e-mail addresses in the list");

        let only_fa = get_as(&app, &editor, "/admin/stories?edition=fa").await;
        assert_eq!(only_fa.status, StatusCode::OK);
        assert!(only_fa.body.contains(FA_HEADLINE));
        assert!(!only_fa.body.contains("Budget talks resume") && !only_fa.body.contains(SEED_HEADLINE), "only Persian stories");
        assert!(only_fa.body.contains("<option value=\"fa\" selected>"), "the filter shows its choice");
        assert!(only_fa.body.contains("ایران"), "the Persian sections to filter by");
        let only_en = get_as(&app, &editor, "/admin/stories?edition=en").await;
        assert!(only_en.body.contains(SEED_HEADLINE) && !only_en.body.contains(FA_HEADLINE));

        let unknown = get_as(&app, &editor, "/admin/stories?edition=xx").await;
        assert_eq!(unknown.status, StatusCode::BAD_REQUEST);
        assert!(unknown.body.contains("There is no edition `xx`; the editions are"), "{}", unknown.body);
        let hostile = get_as(&app, &editor, "/admin/stories?edition=%3Cscript%3E").await;
        assert_eq!(hostile.status, StatusCode::BAD_REQUEST);
        assert!(!hostile.body.contains("<script>"), "the refused value is escaped");
    }
}

backend_test! {
    async fn moderation_isolates_comment_text_and_sets_the_headlines_direction(db) {
        let app = TestApp::new(db).await;
        let (_, fa) = edition_with_story(&app, "fa", "خبرگزاری آزمون", FA_HEADLINE, "ایران").await;
        let limits = PostLimits { per_ip: 100, per_story: 100, window_secs: 600, duplicate_secs: 86_400 };
        let comment = NewComment {
            news_id: fa,
            parent_id: None,
            name: "مریم".into(),
            email: String::new(),
            body: "خبر خوبی بود، thanks!".into(),
            body_key: "khabar".into(),
            ip_key: "ip".into(),
            status: CommentStatus::Pending,
        };
        app.db.store.post_comment(&comment, &limits, Utc::now()).await.expect("comment");
        let editor = login(&app, "editor@example.org", "Sara Editor", Role::Editor).await;
        let queue = get_as(&app, &editor, "/admin/comments").await;
        assert_eq!(queue.status, StatusCode::OK, "{}", queue.body);
        assert!(queue.body.contains("<div class=\"comment-text\" dir=\"auto\"><p>خبر خوبی بود"), "{}", queue.body);
        assert!(queue.body.contains("<bdi>مریم</bdi>"));
        let link = tag_with(&queue.body, &format!("href=\"/fa/news/{fa}/"));
        assert!(link.contains("lang=\"fa\" dir=\"rtl\""), "{link}");
    }
}

backend_test! {
    async fn admin_with_a_trailing_slash_leads_to_the_back_office(db) {
        let app = TestApp::new(db).await;
        let a = app.get("/admin/").await;
        assert_eq!(a.status, StatusCode::PERMANENT_REDIRECT);
        assert_eq!(a.headers.get(header::LOCATION).and_then(|v| v.to_str().ok()), Some("/admin"));
        let editor = login(&app, "editor@example.org", "Sara Editor", Role::Editor).await;
        assert_eq!(get_as(&app, &editor, "/admin").await.status, StatusCode::OK);
    }
}

backend_test! {
    async fn story_cards_carry_the_headline_alone(db) {
        let app = TestApp::new(db).await;
        let page = app.get(SEED_PATH).await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(page.body.contains(&format!("<meta property=\"og:title\" content=\"{SEED_HEADLINE}\">")), "og:title");
        assert!(page.body.contains(&format!("<meta name=\"twitter:title\" content=\"{SEED_HEADLINE}\">")), "twitter:title");
        assert!(page.body.contains("<meta property=\"og:site_name\" content=\"Test Agency\">"));
        assert!(page.body.contains(&format!("<title>{SEED_HEADLINE} - Test Agency</title>")), "the tab title keeps the site name");
        // Other pages keep their titles on their cards.
        let home = app.get("/").await;
        assert!(home.body.contains("<meta property=\"og:title\" content=\"Test Agency\">"));
    }
}

backend_test! {
    async fn a_withdrawn_story_answers_410_in_its_editions_words(db) {
        let app = TestApp::new(db).await;
        let (_, fa) = edition_with_story(&app, "fa", "خبرگزاری آزمون", FA_HEADLINE, "ایران").await;
        let (_, ar) = edition_with_story(&app, "ar", "وكالة الاختبار", AR_HEADLINE, "إيران").await;
        let editor = login(&app, "editor@example.org", "Sara Editor", Role::Editor).await;
        for (id, note) in [(84427, "Withdrawn by court order."), (fa, "به حکم دادگاه برداشته شد."), (ar, "سُحب بأمر من المحكمة.")] {
            let v = version_of(&app, id).await;
            let a = post_as(&app, &editor, &format!("/admin/stories/{id}/workflow"), &[("action", "kill"), ("version", &v), ("public_note", note), ("reason", "Court order."), ("confirm", "yes")]).await;
            assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
        }
        app.sync().await;

        let en = app.get(SEED_PATH).await;
        assert_eq!(en.status, StatusCode::GONE);
        assert!(en.body.contains("<h1>This story has been withdrawn</h1>"), "{}", en.body);
        assert!(en.body.contains("<p>It is no longer available on this site.</p>"));
        assert!(en.body.contains("<p class=\"note\"><strong>Editor’s note:</strong> Withdrawn by court order.</p>"));
        assert!(en.body.contains("<a href=\"/\">Go to the home page</a>"));
        assert!(!en.body.contains("Error 410") && !en.body.contains("withdrawn. This story"), "no error code, no repetition");

        let fa_page = app.get(&format!("/fa/news/{fa}")).await;
        assert_eq!(fa_page.status, StatusCode::GONE);
        assert!(fa_page.body.contains("<html lang=\"fa\" dir=\"rtl\">"));
        assert!(fa_page.body.contains("<h1>این خبر برداشته شده است</h1>"), "{}", fa_page.body);
        assert!(fa_page.body.contains("<strong>یادداشت دبیر خبر:</strong> به حکم دادگاه برداشته شد."));
        assert!(fa_page.body.contains("<a href=\"/fa/\">رفتن به صفحه نخست</a>"));
        assert!(!fa_page.body.contains("has been withdrawn") && !fa_page.body.contains("خطای"), "all in Persian, no error code");

        let ar_page = app.get(&format!("/ar/news/{ar}")).await;
        assert_eq!(ar_page.status, StatusCode::GONE);
        assert!(ar_page.body.contains("<h1>تم سحب هذا الخبر</h1>"), "{}", ar_page.body);
        assert!(ar_page.body.contains("<strong>ملاحظة التحرير:</strong> سُحب بأمر من المحكمة."));
        assert!(!ar_page.body.contains("has been withdrawn") && !ar_page.body.contains("خطأ"));

        // Unpublished without a note: the heading and sentence alone.
        app.db.store.set_story_status(84427, StoryStatus::Unpublished).await.expect("unpublish");
        app.sync().await;
        let en = app.get(SEED_PATH).await;
        assert_eq!(en.status, StatusCode::GONE);
        assert!(en.body.contains("<h1>This story has been withdrawn</h1>") && !en.body.contains("class=\"note\""));
    }
}
