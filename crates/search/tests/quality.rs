//! Search quality: a fixed corpus in English, Persian and Arabic and a fixed
//! set of queries (spelling variants, diacritics, ZWNJ, digits) with the
//! stories they must find first. Also the index's own contracts: filters,
//! paging, embargo, removal, escaping, format rebuild, the recorded change id.

use chrono::{DateTime, TimeZone, Utc};
use newsdesk_domain::StoryStatus;
use newsdesk_search::newsroom::{NewsroomOrder, NewsroomQuery};
use std::collections::HashMap;

use newsdesk_search::{Filters, NoBodies, SearchError, SearchIndex, SearchResults, html_to_text};
use newsdesk_storage::IndexableStory;

fn at(y: i32, m: u32, d: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, 10, 0, 0).single().expect("valid time")
}

/// "Now" for every search of this file, so the freshness boost is fixed.
fn now() -> DateTime<Utc> {
    at(2025, 6, 1)
}

fn story(
    news_id: i64,
    lang: &str,
    section: &str,
    published: DateTime<Utc>,
    headline: &str,
    lead: &str,
    body: &str,
) -> IndexableStory {
    IndexableStory {
        news_id,
        edition_lang: lang.into(),
        section_path: section.into(),
        section_name: section.rsplit('/').next().unwrap_or_default().into(),
        slug: format!("story-{news_id}"),
        headline: headline.into(),
        lead: lead.into(),
        body_html: body.split("\n\n").map(|p| format!("<p>{p}</p>")).collect(),
        status: StoryStatus::Published,
        published_at: Some(published),
        updated_at: None,
        tags: Vec::new(),
        authors: Vec::new(),
        newsroom: Default::default(),
    }
}

fn corpus() -> Vec<IndexableStory> {
    let mut tagged = story(
        106,
        "en",
        "world",
        at(2025, 3, 1),
        "Talks resume in Geneva",
        "Delegations met again on Monday.",
        "The delegations discussed sanctions relief.",
    );
    tagged.tags = vec!["Nuclear deal".into()];
    tagged.authors = vec!["Sara Ahmadi".into()];
    vec![
        // English
        story(
            101,
            "en",
            "economy",
            at(2025, 5, 20),
            "Parliament approves new oil budget",
            "Lawmakers voted for the 2025 budget on Sunday.",
            "The budget assumes oil exports of 1.5 million barrels a day.\n\nCritics said the plan relies too much on crude sales.",
        ),
        story(
            102,
            "en",
            "politics",
            at(2025, 5, 10),
            "Elections will be held in March",
            "The electoral commission set the date.",
            "Voters will choose a new parliament. Candidates register next month.",
        ),
        story(
            103,
            "en",
            "sports",
            at(2025, 5, 12),
            "Persepolis wins the Tehran derby",
            "A late goal decided the match.",
            "The football club now leads the league table.",
        ),
        story(
            104,
            "en",
            "economy/banking",
            at(2025, 4, 2),
            "Central bank raises interest rates",
            "Inflation stayed above 30 percent.",
            "The bank said rates would stay high until prices calm down.",
        ),
        story(
            105,
            "en",
            "provinces",
            at(2025, 2, 14),
            "Earthquake of magnitude 5.2 strikes Kerman",
            "No deaths were reported.",
            "Rescue teams reached the villages near the epicentre within hours.",
        ),
        tagged,
        // Two equally relevant stories two years apart: the fresher ranks first.
        story(
            107,
            "en",
            "society",
            at(2023, 5, 1),
            "Air pollution closes schools",
            "Schools shut for a day.",
            "Smog covered the capital.",
        ),
        story(
            108,
            "en",
            "society",
            at(2025, 5, 25),
            "Air pollution closes schools",
            "Schools shut for a day.",
            "Smog covered the capital.",
        ),
        // Persian
        story(
            201,
            "fa",
            "eghtesad",
            at(2025, 5, 20),
            "مجلس بودجه نفت را تصویب کرد",
            "نمایندگان به بودجه سال ۱۴۰۴ رأی دادند.",
            "درآمد صادرات نفت در این بودجه پیش‌بینی شده است.",
        ),
        story(
            202,
            "fa",
            "siasi",
            at(2025, 5, 11),
            "وزیر نیرو: به سوی آینده می‌رویم",
            "وزیر از طرح‌های تازه سخن گفت.",
            "او گفت ما با برنامه‌ای روشن پیش می‌رویم.",
        ),
        story(
            203,
            "fa",
            "varzeshi",
            at(2025, 5, 12),
            "پرسپولیس در دربی پیروز شد",
            "گل دقیقه آخر بازی را برد.",
            "این تیم اکنون صدرنشین لیگ است.",
        ),
        story(
            204,
            "fa",
            "ostanha",
            at(2025, 2, 14),
            "زلزله ۵ ریشتری کرمان را لرزاند",
            "خسارت جانی گزارش نشده است.",
            "امدادگران به روستاهای اطراف رسیدند.",
        ),
        story(
            205,
            "fa",
            "farhangi",
            at(2025, 4, 9),
            "نمایشگاه کتابِ تهران گشایش یافت",
            "ناشران ایرانی و خارجی حضور دارند.",
            "کتاب‌های تازه در سالن‌های نمایشگاه عرضه شد.",
        ),
        story(
            206,
            "fa",
            "siasi",
            at(2025, 3, 3),
            "سفر رئیس‌جمهور به مشهد",
            "رئیس‌جمهور با مردم دیدار کرد.",
            "ایران و همسایگان درباره همکاری گفتگو کردند.",
        ),
        // Arabic
        story(
            301,
            "ar",
            "siyasa",
            at(2025, 5, 20),
            "الرئيس يزور مدينة القاهرة",
            "بدأ الرئيس زيارة رسمية.",
            "التقى الرئيس بالمسؤولين في القاهرة.",
        ),
        story(
            302,
            "ar",
            "iqtisad",
            at(2025, 5, 18),
            "ارتفاع أسعار النفط في الأسواق العالمية",
            "صعد خام برنت خلال التداولات.",
            "قال المحللون إن الطلب يزداد.",
        ),
        story(
            303,
            "ar",
            "riyada",
            at(2025, 5, 2),
            "مُحَمَّد صَلَاح يسجل هدفين",
            "فاز الفريق بنتيجة كبيرة.",
            "احتفل الجمهور بالفوز في الملعب.",
        ),
        story(
            304,
            "ar",
            "siyasa",
            at(2025, 4, 1),
            "انتخابات برلمانية في العراق عام ٢٠٢٥",
            "أعلنت المفوضية موعد الاقتراع.",
            "يشارك الناخبون في اختيار ممثليهم.",
        ),
        story(
            305,
            "ar",
            "mujtama",
            at(2025, 3, 15),
            "افتتاح المدرسة الجديدة في الحي",
            "استقبلت المدرسة أول طلابها.",
            "قال المدير إن الصفوف مجهزة بالكامل.",
        ),
    ]
}

fn index_with(stories: &[IndexableStory]) -> (tempfile::TempDir, SearchIndex) {
    let dir = tempfile::tempdir().expect("temp dir");
    let index = SearchIndex::open_or_create(&dir.path().join("search")).expect("open index");
    for s in stories {
        index.index_story(s).expect("index");
    }
    index.commit().expect("commit");
    (dir, index)
}

/// The bodies of `stories` as a search reads them for snippets (the index keeps none).
fn bodies(stories: &[IndexableStory]) -> HashMap<i64, String> {
    stories.iter().map(|s| (s.news_id, html_to_text(&s.body_html))).collect()
}

fn ids(r: &SearchResults) -> Vec<i64> {
    r.hits.iter().map(|h| h.news_id).collect()
}

fn find(index: &SearchIndex, edition: &str, q: &str) -> Vec<i64> {
    ids(&index.search_at(edition, q, &Filters::default(), 1, now(), &NoBodies).expect("search"))
}

#[test]
fn queries_find_the_expected_stories_first() {
    let (_dir, index) = index_with(&corpus());
    let cases: &[(&str, &str, i64)] = &[
        // English: stemming, case, digits, tags and bylines.
        ("en", "oil budgets", 101),
        ("en", "elected", 102),
        ("en", "ELECTIONS", 102),
        ("en", "interest rate", 104),
        ("en", "earthquake kerman", 105),
        ("en", "5.2", 105),
        ("en", "nuclear", 106),
        ("en", "ahmadi", 106),
        ("en", "football", 103),
        // Persian: ZWNJ or not, Arabic letters, digits in any script, diacritics.
        ("fa", "می‌رویم", 202),
        ("fa", "میرویم", 202),
        ("fa", "بودجه ۱۴۰۴", 201),
        ("fa", "بودجه 1404", 201),
        ("fa", "كرمان", 204),
        ("fa", "زلزله 5", 204),
        ("fa", "زلزله ٥", 204),
        ("fa", "پرسپوليس", 203),
        ("fa", "كتاب تهران", 205),
        ("fa", "ايران", 206),
        ("fa", "رئیسجمهور مشهد", 206),
        // Arabic: article, hamza and alef variants, teh marbuta, diacritics, digits.
        ("ar", "رئيس", 301),
        ("ar", "القاهره", 301),
        ("ar", "اسعار النفط", 302),
        ("ar", "محمد صلاح", 303),
        ("ar", "مُحَمَّد", 303),
        ("ar", "2025", 304),
        ("ar", "٢٠٢٥", 304),
        ("ar", "مدرسة", 305),
        ("ar", "المدرسه", 305),
    ];
    let mut failures = Vec::new();
    for &(edition, q, expected) in cases {
        let got = find(&index, edition, q);
        if got.first() != Some(&expected) {
            failures.push(format!("{edition} {q:?}: expected {expected} first, got {got:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn editions_do_not_mix() {
    let (_dir, index) = index_with(&corpus());
    assert_eq!(find(&index, "fa", "oil"), Vec::<i64>::new());
    assert_eq!(find(&index, "en", "بودجه"), Vec::<i64>::new());
    assert_eq!(find(&index, "ar", "بودجه"), Vec::<i64>::new());
}

#[test]
fn stop_words_alone_find_nothing_and_empty_queries_are_empty() {
    let (_dir, index) = index_with(&corpus());
    assert!(find(&index, "en", "the of and").is_empty());
    assert!(find(&index, "fa", "در و به").is_empty());
    assert!(find(&index, "en", "   ").is_empty());
    assert!(find(&index, "en", "*").is_empty());
}

#[test]
fn fresher_story_ranks_first_among_equals() {
    let (_dir, index) = index_with(&corpus());
    assert_eq!(find(&index, "en", "air pollution schools"), vec![108, 107]);
}

#[test]
fn section_filter_includes_subsections() {
    let (_dir, index) = index_with(&corpus());
    let economy = Filters { section: Some("economy".into()), ..Filters::default() };
    let r = index.search_at("en", "bank OR budget", &economy, 1, now(), &NoBodies).expect("search");
    assert_eq!(ids(&r).into_iter().collect::<std::collections::BTreeSet<_>>(), [101, 104].into());
    let banking = Filters { section: Some("economy/banking".into()), ..Filters::default() };
    assert_eq!(
        ids(&index.search_at("en", "bank OR budget", &banking, 1, now(), &NoBodies).expect("search")),
        vec![104]
    );
    let sports = Filters { section: Some("sports".into()), ..Filters::default() };
    assert!(index.search_at("en", "budget", &sports, 1, now(), &NoBodies).expect("search").hits.is_empty());
}

#[test]
fn date_filters_bound_the_publish_time() {
    let (_dir, index) = index_with(&corpus());
    let may = Filters { from: Some(at(2025, 5, 1)), to: Some(at(2025, 6, 1)), ..Filters::default() };
    let r = index.search_at("en", "air pollution", &may, 1, now(), &NoBodies).expect("search");
    assert_eq!(ids(&r), vec![108]);
    let bad = Filters { from: Some(at(2025, 5, 1)), to: Some(at(2025, 4, 1)), ..Filters::default() };
    assert!(matches!(index.search_at("en", "oil", &bad, 1, now(), &NoBodies), Err(SearchError::Invalid(_))));
}

#[test]
fn embargoed_stories_appear_only_at_their_time() {
    let future = story(400, "en", "world", at(2025, 7, 1), "Embargoed summit statement", "", "Leaders sign.");
    let (_dir, index) = index_with(&[future]);
    assert!(index.search_at("en", "summit", &Filters::default(), 1, now(), &NoBodies).expect("search").hits.is_empty());
    let later = at(2025, 7, 2);
    assert_eq!(
        ids(&index.search_at("en", "summit", &Filters::default(), 1, later, &NoBodies).expect("search")),
        vec![400]
    );
}

#[test]
fn unpublished_and_removed_stories_disappear() {
    let mut stories = corpus();
    let (_dir, index) = index_with(&stories);
    assert_eq!(find(&index, "en", "earthquake"), vec![105]);
    let s = stories.iter_mut().find(|s| s.news_id == 105).expect("story 105");
    s.status = StoryStatus::Unpublished;
    index.index_story(s).expect("reindex");
    index.commit().expect("commit");
    assert!(find(&index, "en", "earthquake").is_empty());
    index.remove(101).expect("remove");
    index.commit().expect("commit");
    assert!(find(&index, "en", "budget").is_empty());
}

#[test]
fn a_correction_replaces_the_old_text() {
    let mut s = story(500, "en", "world", at(2025, 5, 1), "Minister resigns", "", "The minister of roads resigned.");
    let (_dir, index) = index_with(std::slice::from_ref(&s));
    s.body_html = "<p>The minister of housing resigned.</p>".into();
    s.updated_at = Some(at(2025, 5, 2));
    index.index_story(&s).expect("reindex");
    index.commit().expect("commit");
    assert!(find(&index, "en", "roads").is_empty());
    let r = index.search_at("en", "housing", &Filters::default(), 1, now(), &NoBodies).expect("search");
    assert_eq!(ids(&r), vec![500]);
    assert_eq!(r.total, 1);
    assert_eq!(r.hits[0].updated_at, Some(at(2025, 5, 2)));
}

#[test]
fn snippets_are_escaped_and_marked() {
    let s = story(
        600,
        "en",
        "world",
        at(2025, 5, 1),
        "Rockets & <b>markup</b> in headline",
        "A lead.",
        "Plain words &lt;script&gt;alert(1)&lt;/script&gt; then rockets fell.",
    );
    let texts = bodies(std::slice::from_ref(&s));
    let (_dir, index) = index_with(&[s]);
    let r = index.search_at("en", "rockets", &Filters::default(), 1, now(), &texts).expect("search");
    let hit = &r.hits[0];
    assert_eq!(hit.headline_html, "<mark>Rockets</mark> &amp; &lt;b&gt;markup&lt;/b&gt; in headline");
    assert!(hit.snippet_html.contains("<mark>rockets</mark>"), "{}", hit.snippet_html);
    assert!(!hit.snippet_html.contains("<script"), "{}", hit.snippet_html);
    assert_eq!(hit.path, "/news/600/story-600");
    // A query that matches only the headline still shows the lead as the snippet.
    let r = index.search_at("en", "markup", &Filters::default(), 1, now(), &texts).expect("search");
    assert_eq!(r.hits[0].snippet_html, "A lead.");
    // Without its body (a story gone from the database meanwhile), the lead.
    let r = index.search_at("en", "rockets", &Filters::default(), 1, now(), &NoBodies).expect("search");
    assert_eq!(r.hits[0].snippet_html, "A lead.");
}

#[test]
fn persian_snippets_mark_the_original_spelling() {
    let (_dir, index) = index_with(&corpus());
    let r = index.search_at("fa", "میرویم", &Filters::default(), 1, now(), &bodies(&corpus())).expect("search");
    assert!(r.hits[0].snippet_html.contains("<mark>می\u{200C}رویم</mark>"), "{}", r.hits[0].snippet_html);
    assert!(r.hits[0].headline_html.contains("<mark>می\u{200C}رویم</mark>"), "{}", r.hits[0].headline_html);
}

#[test]
fn pages_of_ten_with_a_total() {
    let stories: Vec<_> = (1..=23)
        .map(|i| {
            story(700 + i, "en", "world", at(2025, 1, i as u32), &format!("Drought report {i}"), "", "Rivers dry.")
        })
        .collect();
    let (_dir, index) = index_with(&stories);
    let p1 = index.search_at("en", "drought", &Filters::default(), 1, now(), &NoBodies).expect("page 1");
    let p3 = index.search_at("en", "drought", &Filters::default(), 3, now(), &NoBodies).expect("page 3");
    assert_eq!((p1.total, p1.hits.len(), p1.pages()), (23, 10, 3));
    assert_eq!(p3.hits.len(), 3);
    // Newest first among equals; page 3 holds the oldest.
    assert_eq!(p1.hits[0].news_id, 723);
    assert_eq!(ids(&p3), vec![703, 702, 701]);
    assert!(matches!(
        index.search_at("en", "drought", &Filters::default(), 0, now(), &NoBodies),
        Err(SearchError::Invalid(_))
    ));
    assert!(matches!(
        index.search_at("en", "drought", &Filters::default(), 101, now(), &NoBodies),
        Err(SearchError::Invalid(_))
    ));
    let long = "x".repeat(301);
    assert!(matches!(
        index.search_at("en", &long, &Filters::default(), 1, now(), &NoBodies),
        Err(SearchError::Invalid(_))
    ));
}

#[test]
fn query_syntax_from_readers_is_harmless() {
    let (_dir, index) = index_with(&corpus());
    for q in ["\"oil", "oil:", "headline_en:oil", "(((", "oil AND", "-", "*", "budget^"] {
        index.search_at("en", q, &Filters::default(), 1, now(), &NoBodies).expect(q);
    }
    assert_eq!(find(&index, "en", "\"oil budget\""), vec![101]);
}

#[test]
fn the_applied_change_survives_reopening() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("search");
    {
        let index = SearchIndex::open_or_create(&path).expect("create");
        assert!(index.needs_rebuild());
        index.index_story(&corpus()[0]).expect("index");
        index.commit_applied(Some(42)).expect("commit");
        index.commit().expect("plain commit keeps the record");
    }
    let index = SearchIndex::open_or_create(&path).expect("reopen");
    assert!(!index.needs_rebuild());
    assert_eq!(index.applied_change(), Some(42));
    assert_eq!(index.len(), 1);
}

#[test]
fn an_index_of_another_format_is_rebuilt_and_other_folders_are_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("search");
    {
        let index = SearchIndex::open_or_create(&path).expect("create");
        index.index_story(&corpus()[0]).expect("index");
        index.commit_applied(Some(7)).expect("commit");
    }
    std::fs::write(path.join("newsdesk-search-format"), "0\n").expect("age the index");
    let index = SearchIndex::open_or_create(&path).expect("reopen");
    assert!(index.needs_rebuild());
    assert!(index.is_empty());
    drop(index);

    let other = dir.path().join("photos");
    std::fs::create_dir_all(&other).expect("dir");
    std::fs::write(other.join("holiday.jpg"), b"not an index").expect("file");
    assert!(matches!(SearchIndex::open_or_create(&other), Err(SearchError::NotAnIndex(_))));
    assert!(other.join("holiday.jpg").exists());
}

#[test]
fn a_second_writer_is_told_the_index_is_in_use() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("search");
    let _first = SearchIndex::open_or_create(&path).expect("first");
    let second = SearchIndex::open_or_create(&path).expect_err("second must fail");
    assert!(matches!(second, SearchError::Locked(_)), "{second}");
}

#[test]
fn passages_cut_from_long_bodies_show_ellipses() {
    let filler = "Nothing of note happened in the capital today. ".repeat(20);
    let body = format!("{filler}Then the volcano erupted. {filler}");
    let s = story(800, "en", "world", at(2025, 5, 1), "A long day", "Lead.", &body);
    let texts = bodies(std::slice::from_ref(&s));
    let (_dir, index) = index_with(&[s]);
    let r = index.search_at("en", "volcano", &Filters::default(), 1, now(), &texts).expect("search");
    let snippet = &r.hits[0].snippet_html;
    assert!(snippet.starts_with("… ") && snippet.ends_with(" …"), "{snippet}");
    assert!(snippet.contains("<mark>volcano</mark>"), "{snippet}");
}

/// A newsroom story: not published, with desk facts.
fn draft(
    news_id: i64,
    lang: &str,
    headline: &str,
    slugline: &str,
    urgency: i64,
    by: i64,
    modified: DateTime<Utc>,
) -> IndexableStory {
    let mut s = story(news_id, lang, "iran", modified, headline, "", "Draft text.");
    s.status = StoryStatus::Draft;
    s.published_at = None;
    s.newsroom = newsdesk_storage::NewsroomFacts {
        created_by: Some(by),
        modified_at: Some(modified),
        desk_id: Some(7),
        stage_id: Some(70 + news_id % 2),
        assignee_id: None,
        slugline: slugline.into(),
        urgency: Some(urgency),
        spiked: false,
    };
    s
}

fn newsroom_ids(index: &SearchIndex, q: &NewsroomQuery) -> Vec<i64> {
    index.newsroom_search(q, &NoBodies).expect("newsroom search").hits.iter().map(|h| h.news_id).collect()
}

#[test]
fn the_newsroom_finds_every_state_by_slugline_and_filters_readers_do_not() {
    let mut stories = corpus();
    stories.push(draft(900, "en", "Exports rise", "IRAN-DEFENCE-EXPORTS", 3, 1, at(2025, 5, 1)));
    stories.push(draft(901, "fa", "افزایش صادرات", "ایران-صادرات", 1, 2, at(2025, 5, 2)));
    stories.push(draft(902, "en", "Weather outlook", "WEATHER", 6, 1, at(2025, 5, 3)));
    let (_dir, index) = index_with(&stories);
    // Readers find no draft.
    assert!(!find(&index, "en", "exports").contains(&900));
    assert!(!find(&index, "fa", "صادرات").contains(&901));
    let q = |text: &str| NewsroomQuery { text: text.into(), page: 1, ..NewsroomQuery::default() };
    // The slugline, typed with its hyphens, in part, or in lower case.
    assert_eq!(newsroom_ids(&index, &q("IRAN-DEFENCE-EXPORTS")), vec![900]);
    assert_eq!(newsroom_ids(&index, &q("defence")), vec![900]);
    // Persian slugline typed with Arabic yeh and kaf forms is normalized like readers' search.
    assert_eq!(newsroom_ids(&index, &q("ايران-صادرات")), vec![901]);
    let hit = index.newsroom_search(&q("WEATHER"), &NoBodies).expect("search").hits.remove(0);
    assert_eq!((hit.status.as_str(), hit.slugline.as_str(), hit.urgency), ("draft", "WEATHER", Some(6)));
    // Published stories are in the newsroom too.
    assert_eq!(newsroom_ids(&index, &q("earthquake")), vec![105]);
    // Filters alone: author, state, urgency, desk stage; newest change first.
    let by_one = NewsroomQuery { created_by: Some(1), page: 1, ..NewsroomQuery::default() };
    assert_eq!(newsroom_ids(&index, &by_one), vec![902, 900]);
    let urgent = NewsroomQuery { urgency_at_most: Some(3), page: 1, ..NewsroomQuery::default() };
    assert_eq!(newsroom_ids(&index, &urgent), vec![901, 900]);
    let by_urgency = NewsroomQuery {
        status: Some(StoryStatus::Draft),
        order: NewsroomOrder::Urgency,
        page: 1,
        ..NewsroomQuery::default()
    };
    assert_eq!(newsroom_ids(&index, &by_urgency), vec![901, 900, 902]);
    let stage = NewsroomQuery { desk_id: Some(7), stage_id: Some(70), page: 1, ..NewsroomQuery::default() };
    assert_eq!(newsroom_ids(&index, &stage), vec![902, 900]);
    let fa_only = NewsroomQuery {
        edition: Some("fa".into()),
        status: Some(StoryStatus::Draft),
        page: 1,
        ..NewsroomQuery::default()
    };
    assert_eq!(newsroom_ids(&index, &fa_only), vec![901]);
    let window = NewsroomQuery {
        status: Some(StoryStatus::Draft),
        from: Some(at(2025, 5, 2)),
        to: Some(at(2025, 5, 3)),
        page: 1,
        ..NewsroomQuery::default()
    };
    assert_eq!(newsroom_ids(&index, &window), vec![901]);
    // Bad input is refused with the parameter's name.
    for bad in [
        NewsroomQuery { urgency_at_most: Some(9), page: 1, ..NewsroomQuery::default() },
        NewsroomQuery { page: 10_000, ..NewsroomQuery::default() },
        NewsroomQuery { from: Some(at(2025, 5, 3)), to: Some(at(2025, 5, 2)), page: 1, ..NewsroomQuery::default() },
    ] {
        assert!(matches!(index.newsroom_search(&bad, &NoBodies), Err(SearchError::Invalid(_))), "{bad:?}");
    }
}
