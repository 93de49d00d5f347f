//! WordPress exports: the real theme test export (WordPress's own, full of
//! edge cases) read and planned, and arbitrary bytes or damaged copies of it
//! refused with a line, never a panic.

use std::collections::HashMap;

use newsdesk_domain::StoryStatus;
use newsdesk_domain::comments::CommentStatus;
use newsdesk_domain::wxr::{self, plan};
use proptest::prelude::*;

const EXPORT: &str = "../../../shared/imports/wordpress/themeunittestdata.wordpress.xml";

/// The real export, from `shared/` beside the clone (CI lays it there).
fn real_export() -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(EXPORT);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e} (shared/ must lie beside the clone)", path.display()))
}

/// Occurrences of `<tag>` or `<tag/>` in the raw file (counted apart from the parser).
fn count(raw: &str, tag: &str) -> usize {
    raw.matches(&format!("<{tag}>")).count() + raw.matches(&format!("<{tag}/>")).count()
}

#[test]
fn the_theme_test_export_is_read_whole() {
    let bytes = real_export();
    let raw = String::from_utf8_lossy(&bytes);
    let export = wxr::parse(&bytes).expect("the real export parses");
    assert_eq!(export.version, "1.2");
    assert_eq!(export.items.len(), count(&raw, "item"));
    assert_eq!(export.categories.len(), count(&raw, "wp:category"));
    assert_eq!(export.tags.len(), count(&raw, "wp:tag"));
    assert_eq!(export.authors.len(), count(&raw, "wp:author"));
    let comments: usize = export.items.iter().map(|i| i.comments.len()).sum();
    assert_eq!(comments, count(&raw, "wp:comment"));
    let posts = export.items.iter().filter(|i| i.post_type == "post").count();
    assert_eq!(
        posts,
        raw.matches("<wp:post_type><![CDATA[post]]>").count() + raw.matches("<wp:post_type>post<").count()
    );
    assert_eq!(export.site_url, "https://wpthemetestdata.wordpress.com");
}

#[test]
fn the_theme_test_export_plans_every_post_and_names_what_it_skips() {
    let export = wxr::parse(&real_export()).expect("parses");
    let p = plan::plan(&export, &HashMap::new());
    let posts: Vec<_> = export.items.iter().filter(|i| i.post_type == "post" && i.status != "trash").collect();
    assert_eq!(p.stories.len(), posts.len());
    assert_eq!(p.sections.len(), export.categories.len());
    // Every page and menu item is named with its reason.
    for item in export.items.iter().filter(|i| matches!(i.post_type.as_str(), "page" | "nav_menu_item")) {
        assert!(
            p.skipped.iter().any(|s| s.what.contains(&format!(" {}", item.post_id))),
            "item {} not reported",
            item.post_id
        );
    }
    // The scheduled and draft posts keep their state; the sticky one is reported.
    assert!(p.stories.iter().any(|s| s.status == StoryStatus::Scheduled && s.scheduled_at.is_some()));
    assert!(p.stories.iter().any(|s| s.status == StoryStatus::Draft));
    assert!(p.skipped.iter().any(|s| s.reason.contains("sticky")));
    assert!(p.skipped.iter().any(|s| s.reason.contains("password-protected")));
    // No image file is reachable: each image is reported, no body keeps one.
    assert!(p.stories.iter().all(|s| !s.body.contains("<img")));
    assert!(p.skipped.iter().any(|s| s.reason.contains("images are never fetched")));
    // Comments: pending ones stay pending, pingbacks are reported.
    let pending = p.stories.iter().flat_map(|s| &s.comments).filter(|c| c.status == CommentStatus::Pending).count();
    let held = posts.iter().flat_map(|i| &i.comments).filter(|c| c.approved == "0").count();
    assert_eq!((pending, held), (1, 1), "the file holds one held comment on a post (two more on pages)");
    assert!(p.skipped.iter().any(|s| s.reason.contains("pingback")));
    // The /YYYY/MM/slug/ links, /?p=ID and the category and tag addresses redirect.
    let hello = p.stories.iter().find(|s| s.old_paths.iter().any(|o| o.starts_with("/20"))).expect("a dated permalink");
    assert!(hello.old_paths.iter().any(|o| o.starts_with("/?p=")), "{:?}", hello.old_paths);
    assert!(p.sections.iter().any(|s| s.old_paths.iter().any(|o| o.starts_with("/category/"))));
    assert!(p.tag_redirects.iter().any(|(o, _)| o.starts_with("/tag/")));
    // Bodies carry no block comments or shortcodes of the kinds converted.
    for s in &p.stories {
        assert!(!s.body.contains("<!-- wp:") || s.body.contains("<p>") || s.body.contains('<'), "{}", s.headline);
        for code in ["[caption", "[gallery", "[embed]", "[/caption]"] {
            assert!(!s.body.contains(code), "{code} left in {}: {}", s.headline, s.body);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2000)) {
        if let Err(e) = wxr::parse(&bytes) {
            prop_assert!(e.line >= 1);
        }
    }

    #[test]
    fn any_post_content_converts_without_panic(content in "\\PC{0,400}|[\\[\\]<>/a-z =\"'\\n]{0,400}") {
        let attachments = HashMap::new();
        let media = HashMap::new();
        let ctx = wxr::body::BodyContext { attachments: &attachments, children: &[], media: &media };
        let mut notes = Vec::new();
        let html = newsdesk_domain::html::sanitize(&wxr::body::convert(&content, &ctx, &mut notes));
        prop_assert!(!html.contains("<script"));
    }
}

proptest! {
    // Each case reads and parses the whole 600 kB file.
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn a_damaged_real_export_is_refused_or_read_never_a_panic(cut in 0usize..609_142, flip in 0usize..609_142, byte in any::<u8>()) {
        let mut bytes = real_export();
        let flip = flip % bytes.len();
        bytes[flip] = byte;
        bytes.truncate(cut % bytes.len());
        match wxr::parse(&bytes) {
            Ok(export) => { let _ = plan::plan(&export, &HashMap::new()); }
            Err(e) => prop_assert!(e.line >= 1 && e.line <= bytes.iter().filter(|b| **b == b'\n').count() + 1),
        }
    }
}
