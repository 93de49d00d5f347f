//! Editions through the real router, on SQLite and on PostgreSQL: the Persian
//! edition at `/fa/` (right to left, Solar Hijri dates, Persian digits, Persian
//! words), the links between translations, per-edition caching and redirects.

use axum::http::StatusCode;
use chrono::Duration;
use newsdesk_domain::calendar::{Calendar, Digits};
use newsdesk_domain::{BodyFormat, Direction, StoryStatus};
use newsdesk_storage::{AuditEntry, NewEdition, SectionRef, StoryInput, backend_test};

use crate::common;

use common::{SEED_PATH, SEED_URL, TestApp, main_of, seed_time};

const FA_HEADLINE: &str = "وزارت دفاع: ایران به فناوری‌های نوین نظامی دست می‌یابد";

/// The test site plus a Persian edition with the seed's translation (linked to
/// 84427) published at the seed's time; returns the translation's News ID.
async fn with_persian(app: &TestApp) -> (i64, i64) {
    let fa = app
        .db
        .store
        .upsert_edition(&NewEdition {
            lang: "fa".into(),
            name: "خبرگزاری آزمون".into(),
            direction: Direction::Rtl,
            time_zone: chrono_tz::Asia::Tehran,
            is_default: false,
        })
        .await
        .expect("Persian edition");
    let id = persian_story(app, fa.id, FA_HEADLINE, Duration::zero()).await;
    app.db
        .store
        .set_translation_of(id, Some(84427), &AuditEntry::system("test", "story.translation", "story", id, ""))
        .await
        .expect("linked");
    app.sync().await;
    (fa.id, id)
}

async fn persian_story(app: &TestApp, edition_id: i64, headline: &str, after_seed: Duration) -> i64 {
    app.db
        .store
        .save_story(&StoryInput {
            news_id: None,
            edition_id,
            section: SectionRef::Names(vec!["ایران".into(), "دفاعی".into()]),
            slug: None,
            headline: headline.into(),
            lead: "وزارت دفاع ایران به سوی ساخت تجهیزات نظامی پیشگام حرکت می‌کند.".into(),
            body_source: "سردار سرتیپ مهدی فرحی این سخنان را بیان کرد.".into(),
            body_format: BodyFormat::Text,
            photo_id: None,
            gallery_id: None,
            status: StoryStatus::Published,
            published_at: Some(seed_time() + after_seed),
            tags: vec!["دفاعی".into()],
            authors: Vec::new(),
            agency: None,
            actor: "test".into(),
        })
        .await
        .expect("Persian story")
        .0
}

/// Follows one redirect of `path`; returns the target path (percent-encoded, as sent).
async fn location(app: &TestApp, path: &str) -> String {
    let a = app.get(path).await;
    assert_eq!(a.status, StatusCode::MOVED_PERMANENTLY, "{path}");
    a.headers.get("location").and_then(|v| v.to_str().ok()).expect("location").to_string()
}

fn persian(n: i64) -> String {
    Digits::Persian.apply(&n.to_string())
}

backend_test! {
    async fn persian_story_page_is_rtl_with_persian_digits_and_the_solar_hijri_date(db) {
        let app = TestApp::new(db).await;
        let (_, id) = with_persian(&app).await;
        let path = location(&app, &format!("/news/{id}")).await;
        assert!(path.starts_with(&format!("/fa/news/{id}/%D9%88%D8%B2%D8%A7%D8%B1%D8%AA-")), "{path}");
        let a = app.get(&path).await;
        assert_eq!(a.status, StatusCode::OK);
        let b = &a.body;
        assert!(b.starts_with("<!DOCTYPE html>\n<html lang=\"fa\" dir=\"rtl\">"), "{}", &b[..80]);
        assert!(b.contains(&format!("کد خبر: <span class=\"news-id\">{}</span>", persian(id))), "Persian News ID");
        assert!(
            b.contains("تاریخ انتشار: <time datetime=\"2023-11-15T14:37:00+03:30\">۲۴ آبان ۱۴۰۲ - ۱۴:۳۷</time>"),
            "Solar Hijri date in Persian digits, ISO 8601 for machines"
        );
        assert!(b.contains("به‌روز شده در: <time datetime=\"2023-11-15T14:37:00+03:30\">۲۴ آبان ۱۴۰۲ - ۱۴:۳۷</time>"));
        assert!(b.contains("\"datePublished\":\"2023-11-15T14:37:00+03:30\""), "JSON-LD stays ISO 8601");
        assert!(b.contains("<li><a href=\"/fa/\">صفحه نخست</a></li>"), "links stay in the edition");
        assert!(b.contains("<a href=\"/fa/section/ایران/دفاعی\">دفاعی</a>"));
        assert!(b.contains("<a href=\"/fa/tag/دفاعی\" rel=\"tag\">دفاعی</a>"));
        assert!(b.contains(&format!("<link rel=\"canonical\" href=\"https://news.example{path}\">")));
        assert!(b.contains("<p class=\"comments-closed\">نظرها برای این خبر بسته شده است.</p>"), "Persian words in the comment block");
        assert!(b.contains("<h2 id=\"comments-h\">نظرها (۰)</h2>"));
        assert!(b.contains("<h3>نظر شما</h3>"));
        assert!(!b.contains("News ID") && !b.contains("Publish Date") && !b.contains("your comment"));
        // The Persian sidebar and home.
        let home = app.get("/fa/").await;
        assert_eq!(home.status, StatusCode::OK);
        assert!(home.body.contains("<html lang=\"fa\" dir=\"rtl\">"));
        assert!(main_of(&home.body).contains(FA_HEADLINE));
        assert!(!main_of(&home.body).contains("Defense Ministry"), "English stories stay in the English edition");
        assert!(home.body.contains("<h2>تازه‌ترین‌ها</h2>"));
    }
}

backend_test! {
    async fn translations_carry_hreflang_alternates_both_ways(db) {
        let app = TestApp::new(db).await;
        let (_, id) = with_persian(&app).await;
        let fa_path = location(&app, &format!("/news/{id}")).await;
        let en = app.get(SEED_PATH).await;
        assert_eq!(en.status, StatusCode::OK);
        assert!(en.body.contains(&format!("<link rel=\"alternate\" hreflang=\"en\" href=\"{SEED_URL}\">")));
        assert!(
            en.body.contains(&format!("<link rel=\"alternate\" hreflang=\"fa\" href=\"https://news.example{fa_path}\">")),
            "English page points at the Persian one"
        );
        assert!(en.body.contains("<p class=\"translations\">Also in: <a href=\"/fa/news/"));
        let fa = app.get(&fa_path).await;
        assert!(fa.body.contains(&format!("<link rel=\"alternate\" hreflang=\"en\" href=\"{SEED_URL}\">")));
        assert!(fa.body.contains(&format!("<link rel=\"alternate\" hreflang=\"fa\" href=\"https://news.example{fa_path}\">")));
        assert!(fa.body.contains(&format!("<a href=\"{SEED_PATH}\" hreflang=\"en\" lang=\"en\" dir=\"auto\">English: Defense Ministry")));
        // Home pages list every edition.
        let home = app.get("/").await;
        assert!(home.body.contains("<link rel=\"alternate\" hreflang=\"fa\" href=\"https://news.example/fa/\">"));
        assert!(home.body.contains("<a href=\"/fa/\" hreflang=\"fa\" lang=\"fa\">فارسی</a>"), "language switcher");
        // Unlinking drops the alternates on both pages (their cached copies too).
        app.db.store.set_translation_of(id, None, &AuditEntry::system("test", "story.translation", "story", id, "")).await.expect("unlinked");
        app.sync().await;
        assert!(!app.get(SEED_PATH).await.body.contains("hreflang=\"fa\" href=\"https://news.example/fa/news"));
        assert!(!app.get(&fa_path).await.body.contains("<link rel=\"alternate\" hreflang=\"en\""));
    }
}

backend_test! {
    async fn english_pages_keep_their_words_and_dates(db) {
        let app = TestApp::new(db).await;
        let before = app.get(SEED_PATH).await.body;
        with_persian(&app).await;
        let after = app.get(SEED_PATH).await.body;
        for b in [&before, &after] {
            assert!(b.starts_with("<!DOCTYPE html>\n<html lang=\"en\" dir=\"ltr\">"));
            assert!(b.contains("News ID: <span class=\"news-id\">84427</span>"));
            assert!(b.contains("Publish Date: <time datetime=\"2023-11-15T14:37:00+03:30\">15 November 2023 - 14:37</time>"));
            assert!(b.contains("<li><a href=\"/\">Home</a></li>"));
        }
        // Only the switcher and the alternates are new.
        assert!(!before.contains("class=\"editions\"") && after.contains("class=\"editions\""));
        let strip = |b: &str| {
            let main = main_of(b);
            match (main.find("    <p class=\"translations\">"), main.find("  </header>")) {
                (Some(start), Some(end)) if start < end => format!("{}{}", &main[..start], &main[end..]),
                _ => main.to_string(),
            }
        };
        assert_eq!(strip(&before), strip(&after), "the English article itself is unchanged");
    }
}

backend_test! {
    async fn editions_have_their_own_cache_entries(db) {
        let app = TestApp::new(db).await;
        let (fa_id, _) = with_persian(&app).await;
        let en_home = app.get("/").await.body;
        let fa_home = app.get("/fa/").await.body;
        assert_ne!(en_home, fa_home, "one path, two editions, two pages");
        // A new Persian story: the Persian home shows it at once, the English home is not touched.
        let headline = "خبر تازه درباره صادرات";
        persian_story(&app, fa_id, headline, Duration::hours(2)).await;
        app.sync().await;
        let fa_again = app.get("/fa/").await.body;
        assert!(main_of(&fa_again).contains(headline), "the Persian page is not served stale");
        let en_again = app.get("/").await.body;
        assert!(!en_again.contains(headline));
        assert_eq!(main_of(&en_home), main_of(&en_again), "the English home is the same page");
        // The English seed page asked for under /fa/ is not served from the Persian cache.
        assert_eq!(location(&app, &format!("/fa{SEED_PATH}")).await, SEED_PATH);
        let en_story = app.get(SEED_PATH).await;
        assert!(en_story.body.contains("<html lang=\"en\" dir=\"ltr\">"));
    }
}

backend_test! {
    async fn edition_routes_and_redirects(db) {
        let app = TestApp::new(db).await;
        let (_, id) = with_persian(&app).await;
        assert_eq!(location(&app, "/fa").await, "/fa/");
        assert_eq!(location(&app, "/en/").await, "/");
        assert_eq!(location(&app, "/en/news/84427").await, "/news/84427");
        let fa_path = location(&app, &format!("/fa/news/{id}")).await;
        assert_eq!(location(&app, &format!("/fa/news/{id}/wrong-slug")).await, fa_path);
        assert_eq!(app.get("/xx/").await.status, StatusCode::NOT_FOUND);
        let section = app.get("/fa/section/%D8%A7%DB%8C%D8%B1%D8%A7%D9%86").await;
        assert_eq!(section.status, StatusCode::OK);
        assert!(section.body.contains("<p class=\"kicker\">بخش</p>"));
        assert!(main_of(&section.body).contains(FA_HEADLINE));
        let tag = app.get("/fa/tag/%D8%AF%D9%81%D8%A7%D8%B9%DB%8C").await;
        assert_eq!(tag.status, StatusCode::OK);
        assert!(main_of(&tag.body).contains(FA_HEADLINE));
        let archive = app.get("/fa/archive/2023/11/15").await;
        assert_eq!(archive.status, StatusCode::OK);
        assert!(archive.body.contains("<h1>آرشیو: ۲۴ آبان ۱۴۰۲</h1>"), "archive day in the edition's calendar");
        let missing = app.get("/fa/no-such-page").await;
        assert_eq!(missing.status, StatusCode::NOT_FOUND);
        assert!(missing.body.contains("<html lang=\"fa\" dir=\"rtl\">"));
        assert!(missing.body.contains("<h1>صفحه پیدا نشد</h1>"));
        assert!(missing.body.contains("خطای ۴۰۴"));
        assert_eq!(app.get("/fa/admin").await.status, StatusCode::NOT_FOUND, "the back office is not per edition");
        // Feeds and sitemaps: the edition's stories, ISO/RFC dates, absolute encoded URLs.
        let feed = app.get("/fa/feed.atom").await;
        assert_eq!(feed.status, StatusCode::OK);
        assert!(feed.body.contains(&format!("https://news.example/fa/news/{id}/%D9%88")), "feed links are canonical");
        assert!(feed.body.contains("2023-11-15T"), "feed dates in ISO 8601");
        assert!(!feed.body.contains("Defense Ministry"));
        let index = app.get("/sitemap.xml").await;
        assert_eq!(index.status, StatusCode::OK);
        assert!(index.body.contains("https://news.example/fa/sitemaps/"), "the index lists every edition: {}", index.body);
        assert!(index.body.contains("https://news.example/sitemaps/"));
        // The search page speaks the edition's language (this test site has no index: 503).
        let search = app.get("/fa/search?q=%D8%AF%D9%81%D8%A7%D8%B9").await;
        assert!(search.body.contains("<html lang=\"fa\" dir=\"rtl\">"), "{}", search.status);
        assert!(search.body.contains("action=\"/fa/search\""));
        assert!(search.body.contains("<h1>نتیجه‌ها برای «دفاع»</h1>"));
        assert!(search.body.contains("جست‌وجو اکنون روی این سرور در دسترس نیست."));
        let robots = app.get("/robots.txt").await.body;
        assert!(robots.contains("Sitemap: https://news.example/fa/sitemap-news.xml\n"), "{robots}");
        let news = app.get("/fa/sitemap-news.xml").await;
        assert_eq!(news.status, StatusCode::OK);
        let json = app.get("/fa/feed.json").await;
        assert!(!json.body.contains('۲'), "machines get ASCII digits");
    }
}

backend_test! {
    async fn arabic_edition_can_show_hijri_dates_in_arabic_digits(db) {
        let app = TestApp::new(db).await;
        let ar = app
            .db
            .store
            .upsert_edition(&NewEdition {
                lang: "ar".into(),
                name: "وكالة الاختبار".into(),
                direction: Direction::Rtl,
                time_zone: chrono_tz::Asia::Tehran,
                is_default: false,
            })
            .await
            .expect("Arabic edition");
        assert_eq!((ar.calendar, ar.digits), (Calendar::Gregorian, Digits::ArabicIndic));
        persian_story(&app, ar.id, "خبر عربي", Duration::zero()).await;
        app.sync().await;
        let home = app.get("/ar/").await.body;
        assert!(home.contains("<html lang=\"ar\" dir=\"rtl\">"));
        assert!(home.contains("آخر تحديث: <time datetime=\"2023-11-15T14:37:00+03:30\">١٥ نوفمبر ٢٠٢٣ - ١٤:٣٧</time>"));
        app.db.store.set_edition_locale(ar.id, Calendar::Hijri, Digits::ArabicIndic).await.expect("Hijri");
        app.state.editions.store(std::sync::Arc::new(app.db.store.editions().await.expect("editions")));
        app.state.apply_site_change();
        let home = app.get("/ar/").await.body;
        let day = chrono::NaiveDate::from_ymd_opt(2023, 11, 15).expect("day");
        let h = newsdesk_domain::calendar::hijri_from_gregorian(day);
        let month = newsdesk_domain::calendar::month_name(Calendar::Hijri, "ar", h.month).expect("month");
        let expected = Digits::ArabicIndic.apply(&format!("{} {month} {} - 14:37", h.day, h.year));
        assert!(home.contains(&expected), "Hijri date {expected}");
    }
}

backend_test! {
    async fn a_comment_posted_in_the_persian_edition_comes_back_to_its_page(db) {
        let app = TestApp::new(db).await;
        let (fa_id, _) = with_persian(&app).await;
        // Published now, so comments are open.
        let now = chrono::Utc::now() - seed_time();
        let id = persian_story(&app, fa_id, "خبری با نظر", now - Duration::minutes(5)).await;
        app.sync().await;
        let path = location(&app, &format!("/fa/news/{id}")).await;
        let page = app.get(&path).await;
        assert!(page.body.contains(&format!("action=\"/fa/news/{id}/comments\"")), "the form posts inside the edition");
        assert!(page.body.contains("<label for=\"cf-name\">نام</label>"));
        assert!(page.body.contains("<button type=\"submit\">ارسال نظر</button>"));
        let token = app.state.comments.form_token(id, chrono::Utc::now() - Duration::seconds(10), None);
        let form = format!("name=%D8%B1%D8%B6%D8%A7&email=&website=&text=%D8%AE%D9%88%D8%A8&token={token}");
        let req = axum::http::Request::post(format!("/fa/news/{id}/comments"))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("origin", "https://news.example")
            .header("sec-fetch-site", "same-origin")
            .body(axum::body::Body::from(form))
            .expect("request");
        let a = app.request(req).await;
        assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
        let to = a.headers.get("location").and_then(|v| v.to_str().ok()).expect("location");
        assert!(to.starts_with(&format!("{path}?comment=")), "back to the Persian page: {to}");
        // Refusals come back in Persian, with the reader's text kept.
        let token = app.state.comments.form_token(id, chrono::Utc::now() - Duration::seconds(10), None);
        let refused = |origin: &'static str, form: String| {
            axum::http::Request::post(format!("/fa/news/{id}/comments"))
                .header("content-type", "application/x-www-form-urlencoded")
                .header("origin", origin)
                .header("sec-fetch-site", "same-origin")
                .body(axum::body::Body::from(form))
                .expect("request")
        };
        let no_name = app.request(refused("https://news.example", format!("name=&text=abc&token={token}"))).await;
        assert_eq!(no_name.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(no_name.body.contains("لطفاً نامی برای نمایش کنار نظرتان بنویسید."), "Persian refusal");
        assert!(no_name.body.contains("<html lang=\"fa\" dir=\"rtl\">"));
        let elsewhere = app.request(refused("https://evil.example", format!("name=x&text=abc&token={token}"))).await;
        assert_eq!(elsewhere.status, StatusCode::FORBIDDEN);
        assert!(elsewhere.body.contains("این فرم باید از صفحه خود این سایت فرستاده شود."));
        let back = app.get(to.split('#').next().unwrap_or(to)).await;
        assert!(back.body.contains("<p class=\"notice\" role=\"status\">سپاس."), "the notice in Persian");
    }
}

#[test]
fn persian_and_arabic_catalogs_are_complete() {
    let templates = newsdesk_web::Templates::load(None).expect("theme and catalogs load");
    for lang in ["fa", "ar"] {
        assert_eq!(templates.catalogs.missing(lang), Vec::<&str>::new(), "{lang} lacks messages");
    }
    assert_eq!(templates.text("fa", "story.news_id", &[]), "کد خبر:");
    assert_eq!(templates.text("en", "comments.title", &[("n", "3")]), "Comments (3)");
}

backend_test! {
    async fn a_persian_page_is_answered_from_the_cache_under_its_own_address(db) {
        // The cache answers before routing, where the edition's prefix is still
        // on the path: `/fa/…` is the Persian page, `/…` the default edition's.
        let app = TestApp::new(db).await;
        let (_, id) = with_persian(&app).await;
        let story = location(&app, &format!("/fa/news/{id}")).await;
        for path in [story.as_str(), "/fa/", "/fa/section/%D8%A7%DB%8C%D8%B1%D8%A7%D9%86", "/fa/feed.rss", "/", SEED_PATH] {
            let first = crate::site::fetch(&app, path, &[]).await;
            assert_eq!(first.0, StatusCode::OK, "{path}");
            let again = crate::site::fetch(&app, path, &[]).await;
            assert!(!first.3 && again.3, "{path}: rendered through the route, then answered from the cache");
            assert_eq!((again.0, &again.1), (first.0, &first.1), "{path}");
            assert!(again.2 == first.2, "{path}: the same body");
        }
        let fa_home = String::from_utf8_lossy(&crate::site::fetch(&app, "/fa/", &[]).await.2).into_owned();
        let home = String::from_utf8_lossy(&crate::site::fetch(&app, "/", &[]).await.2).into_owned();
        assert!(fa_home.contains("<html lang=\"fa\" dir=\"rtl\">") && home.contains("<html lang=\"en\" dir=\"ltr\">"));
        // The default edition's own prefix and an edition without its slash still redirect.
        for (path, to) in [("/en/", "/"), ("/fa", "/fa/")] {
            let a = crate::site::fetch(&app, path, &[]).await;
            assert_eq!((a.0, a.1[axum::http::header::LOCATION].to_str().expect("location")), (StatusCode::MOVED_PERMANENTLY, to), "{path}");
            assert!(!a.3);
        }
    }
}
