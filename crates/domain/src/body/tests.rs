use super::*;

fn key(url: &str) -> Option<&'static str> {
    recognize(url).map(|e| e.provider.key)
}

#[test]
fn provider_urls_are_recognised() {
    for (url, provider) in [
        ("https://www.youtube.com/watch?v=dQw4w9WgXcQ", "youtube"),
        ("https://youtube.com/watch?v=dQw4w9WgXcQ&t=42s", "youtube"),
        ("https://m.youtube.com/watch?v=dQw4w9WgXcQ", "youtube"),
        ("https://youtu.be/dQw4w9WgXcQ", "youtube"),
        ("https://www.youtube.com/shorts/dQw4w9WgXcQ", "youtube"),
        ("https://vimeo.com/76979871", "vimeo"),
        ("https://x.com/NASA/status/1780000000000000000", "x"),
        ("https://twitter.com/NASA/status/1780000000000000000?s=20", "x"),
        ("https://www.instagram.com/p/C5abcDEFghi/", "instagram"),
        ("https://www.instagram.com/reel/C5abcDEFghi/", "instagram"),
        ("https://www.facebook.com/nasa/posts/1234567890", "facebook"),
        ("https://www.facebook.com/watch/?v=1234567890", "facebook"),
        ("https://www.tiktok.com/@scout2015/video/6718335390845095173", "tiktok"),
        ("https://t.me/durov/142", "telegram"),
        ("https://soundcloud.com/forss/flickermood", "soundcloud"),
        ("https://soundcloud.com/forss/sets/soulhack", "soundcloud"),
    ] {
        assert_eq!(key(url), Some(provider), "{url}");
    }
}

#[test]
fn other_urls_stay_links() {
    for url in [
        "http://www.youtube.com/watch?v=dQw4w9WgXcQ",
        "javascript:alert(1)//https://www.youtube.com/watch?v=dQw4w9WgXcQ",
        "JAVASCRIPT:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "https://www.youtube.com.evil.example/watch?v=dQw4w9WgXcQ",
        "https://evilyoutube.com/watch?v=dQw4w9WgXcQ",
        "https://youtube.com@evil.example/watch?v=dQw4w9WgXcQ",
        "https://user:pw@www.youtube.com/watch?v=dQw4w9WgXcQ",
        "https://www.youtube.com:8443/watch?v=dQw4w9WgXcQ",
        "https://www.youtube.com/watch?v=short",
        "https://www.youtube.com/watch?v=dQw4w9WgXc\"><script>",
        "https://www.youtube.com/channel/UC123",
        "https://youtu.be.evil.example/dQw4w9WgXcQ",
        "https://vimeo.com/about",
        "https://x.com/NASA",
        "https://x.com.evil.example/NASA/status/1",
        "https://instagram.com.evil.example/p/C5abcDEFghi/",
        "https://www.facebook.com/nasa",
        "https://www.tiktok.com/@scout2015",
        "https://t.me/durov",
        "https://t.me.evil.example/durov/142",
        "https://soundcloud.com/discover/sets",
        "https://soundcloud.com/forss",
        "https://example.com/watch?v=dQw4w9WgXcQ",
        "https://www.youtube.com/watch?v=dQw4w9WgXcQ extra",
        "",
    ] {
        assert_eq!(key(url), None, "{url}");
    }
}

#[test]
fn players_and_originals_are_the_providers_own() {
    let e = recognize("https://youtu.be/dQw4w9WgXcQ").expect("youtube");
    assert_eq!(e.url, "https://www.youtube.com/watch?v=dQw4w9WgXcQ");
    assert_eq!(e.player, "https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ");
    assert!(e.player.starts_with(e.provider.frame_origin));
    for p in &PROVIDERS {
        assert!(p.frame_origin.starts_with("https://"), "{}", p.key);
        assert!(p.oembed.is_none_or(|o| o.starts_with("https://")), "{}", p.key);
    }
    let s = recognize("https://soundcloud.com/forss/flickermood").expect("soundcloud");
    assert_eq!(s.player, "https://w.soundcloud.com/player/?url=https%3A%2F%2Fsoundcloud.com%2Fforss%2Fflickermood");
}

#[test]
fn allowed_iframes_are_recognised_and_others_not() {
    assert_eq!(
        recognize_player("https://www.youtube.com/embed/dQw4w9WgXcQ").map(|e| e.url),
        Some("https://www.youtube.com/watch?v=dQw4w9WgXcQ".to_string())
    );
    assert_eq!(recognize_player("//player.vimeo.com/video/76979871").map(|e| e.provider.key), Some("vimeo"));
    assert_eq!(
        recognize_player("https://w.soundcloud.com/player/?url=https%3A//api.soundcloud.com/tracks/293")
            .map(|e| e.provider.key),
        Some("soundcloud")
    );
    for src in [
        "https://evil.example/embed/dQw4w9WgXcQ",
        "http://www.youtube.com/embed/dQw4w9WgXcQ",
        "https://www.facebook.com/plugins/post.php?href=https%3A%2F%2Fevil.example%2Fx",
        "https://w.soundcloud.com/player/?url=https%3A%2F%2Fevil.example%2Ftracks%2F1",
        "javascript:alert(1)",
    ] {
        assert_eq!(recognize_player(src), None, "{src}");
    }
}

#[test]
fn markdown_blocks_stand_alone() {
    let src = "Intro with https://youtu.be/dQw4w9WgXcQ inline.\n\n\
               https://youtu.be/dQw4w9WgXcQ\n\n\
               ![A \\] caption](photo:12 \"Photo: Ann\")\n\n\
               gallery:7\n\n\
               - https://vimeo.com/76979871\n\n\
               ```\nhttps://vimeo.com/76979871\n\n```\n\n\
               https://example.com/not-a-provider\n";
    let blocks = blocks(BodyFormat::Markdown, src);
    assert_eq!(blocks.len(), 3, "{blocks:?}");
    assert!(matches!(&blocks[0], Block::Embed(e) if e.provider.key == "youtube"));
    assert_eq!(
        blocks[1],
        Block::Photo(PhotoUse { id: 12, caption: "A ] caption".into(), credit: "Photo: Ann".into() })
    );
    assert_eq!(blocks[2], Block::Gallery(7));
    // A URL glued to other lines of its paragraph is text.
    assert!(blocks_of_text("Line one\nhttps://youtu.be/dQw4w9WgXcQ").is_empty());
    assert_eq!(super::blocks(BodyFormat::Text, "gallery:3\n\n![](photo:4)").len(), 2);
}

fn blocks_of_text(src: &str) -> Vec<Block> {
    blocks(BodyFormat::Markdown, src)
}

#[test]
fn html_iframes_and_lone_paragraphs_are_blocks() {
    let src = "<p>Before</p><IFRAME width=560 src=\"https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ\"></iframe>\
               <iframe src=\"https://evil.example/x\"></iframe><p>gallery:5</p><p>After</p>";
    let parts = split(BodyFormat::Html, src);
    // The iframe of another site is dropped, as the sanitizer always did.
    assert_eq!(parts.len(), 4, "{parts:?}");
    assert!(matches!(&parts[1], Part::Block(Block::Embed(_))));
    assert_eq!(parts[2], Part::Block(Block::Gallery(5)));
    let html = render(BodyFormat::Html, src, &Context::default());
    assert!(!html.contains("evil.example"), "{html}");
    assert!(!html.contains("<iframe"), "{html}");
}

#[test]
fn embed_renders_as_a_placeholder_with_a_link_and_no_third_party_request() {
    let mut ctx = Context::default();
    ctx.embeds.insert(
        "https://www.youtube.com/watch?v=dQw4w9WgXcQ".into(),
        EmbedMeta {
            title: "A <title> & more".into(),
            thumbnail: Some(Image { src: "/media/abc.jpg".into(), width: 480, height: 360 }),
        },
    );
    let html = render(BodyFormat::Markdown, "Text\n\nhttps://youtu.be/dQw4w9WgXcQ\n\nMore", &ctx);
    assert!(html.starts_with("<p>Text</p>"), "{html}");
    assert!(html.contains("data-embed=\"youtube\""), "{html}");
    assert!(html.contains("<a href=\"https://www.youtube.com/watch?v=dQw4w9WgXcQ\""), "{html}");
    assert!(html.contains("A &lt;title&gt; &amp; more</a>"), "{html}");
    assert!(html.contains("src=\"/media/abc.jpg\""), "{html}");
    assert!(!html.contains("<iframe"), "{html}");
    // Only the link and the data attribute name the provider: nothing a browser fetches.
    assert!(!html.contains(" src=\"https://"), "{html}");
    assert_eq!(providers_in(&html).iter().map(|p| p.key).collect::<Vec<_>>(), ["youtube"]);
    // Without metadata the URL is the title.
    let bare = render(BodyFormat::Text, "https://t.me/durov/142", &Context::default());
    assert!(bare.contains(">https://t.me/durov/142</a>"), "{bare}");
}

#[test]
fn photos_render_with_renditions_and_unknown_ones_are_missing() {
    let mut ctx = Context::default();
    ctx.photos.insert(
        12,
        PhotoData {
            image: Image { src: "/media/p.jpg".into(), width: 1600, height: 900 },
            caption: "Library caption".into(),
            credit: "Library credit".into(),
            srcset: "/media/r1.jpg 480w, /media/p.jpg 1600w".into(),
            webp_srcset: "/media/r1.webp 480w".into(),
        },
    );
    let src = "![<b>Mine</b>](photo:12 \"Me & co\")\n\n![](photo:12)\n\n![x](photo:99)\n\ngallery:3";
    assert_eq!(missing(BodyFormat::Markdown, src, &ctx), [Missing::Photo(99), Missing::Gallery(3)]);
    let html = render(BodyFormat::Markdown, src, &ctx);
    assert!(html.contains("<figure class=\"body-photo\"><picture><source type=\"image/webp\""), "{html}");
    assert!(html.contains("alt=\"&lt;b&gt;Mine&lt;/b&gt;\""), "{html}");
    assert!(html.contains("<span dir=\"auto\">&lt;b&gt;Mine&lt;/b&gt;</span>"), "{html}");
    assert!(html.contains("Me &amp; co"), "{html}");
    assert!(html.contains("<span dir=\"auto\">Library caption</span>"), "{html}");
    assert!(html.contains("<!-- photo:99 -->"), "{html}");
    assert!(html.contains("<!-- gallery:3 -->"), "{html}");
    ctx.galleries.insert(3, "<figure class=\"gallery\"></figure>".into());
    assert!(render(BodyFormat::Markdown, "gallery:3", &ctx).contains("class=\"gallery\""));
}

#[test]
fn bodies_without_blocks_render_as_before() {
    let md = "# T\n\n**b** <img src=x onerror=alert(1)>\n\n```\ncode\n```";
    assert_eq!(BodyFormat::Markdown.render(md), crate::html::markdown_to_html(md));
    let text = "a < b\nc\n\n“q”";
    assert_eq!(BodyFormat::Text.render(text), crate::html::text_to_html(text));
}

#[test]
fn a_long_html_body_is_read_in_one_pass() {
    let mut src = "<p>paragraph with <b>markup</b></p>\n".repeat(20_000);
    src.push_str("<iframe src=\"https://player.vimeo.com/video/76979871\"></iframe>");
    let started = std::time::Instant::now();
    let parts = split(BodyFormat::Html, &src);
    assert_eq!(parts.len(), 2);
    assert!(matches!(&parts[1], Part::Block(Block::Embed(e)) if e.provider.key == "vimeo"));
    // Quadratic reading took seconds here; one pass takes milliseconds.
    assert!(started.elapsed() < std::time::Duration::from_secs(2), "{:?}", started.elapsed());
}
