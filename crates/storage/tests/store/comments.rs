//! Comment storage on SQLite and PostgreSQL: posting with database-kept rate
//! limits and duplicate detection, threading, moderation with its change log.

use chrono::{Duration, TimeZone, Utc};
use newsdesk_domain::comments::{CommentStatus, ModerationMode};
use newsdesk_domain::{Direction, StoryStatus};
use newsdesk_storage::{
    AuditEntry, NewComment, NewEdition, PostLimits, PostOutcome, QueueFilter, Store, StoryInput, backend_test,
};

use crate::published;

/// An audit entry for a moderation by `actor`.
fn by(actor: &str) -> AuditEntry {
    AuditEntry::system(actor, "comment.moderate", "comment", 0, "")
}

const LIMITS: PostLimits = PostLimits { per_ip: 100, per_story: 100, window_secs: 600, duplicate_secs: 86_400 };

async fn site(store: &Store) -> (i64, i64, i64) {
    let e = store
        .upsert_edition(&NewEdition {
            lang: "en".into(),
            name: "Agency".into(),
            direction: Direction::Ltr,
            time_zone: chrono_tz::Asia::Tehran,
            is_default: true,
        })
        .await
        .expect("edition")
        .id;
    let mut ids = Vec::new();
    for headline in ["First story", "Second story"] {
        let (id, _) = store.save_story(&published(e, "Iran", headline)).await.expect("story");
        ids.push(id);
    }
    (e, ids[0], ids[1])
}

fn comment(news_id: i64, body: &str, ip: &str) -> NewComment {
    NewComment {
        news_id,
        parent_id: None,
        name: "Reader".into(),
        email: String::new(),
        body: body.into(),
        body_key: newsdesk_domain::comments::duplicate_key(body),
        ip_key: ip.into(),
        status: CommentStatus::Pending,
    }
}

async fn stored(store: &Store, c: &NewComment, limits: &PostLimits) -> newsdesk_storage::Comment {
    match store.post_comment(c, limits, Utc::now()).await.expect("post") {
        PostOutcome::Stored(c) => c,
        other => panic!("not stored: {other:?}"),
    }
}

backend_test! {
    async fn a_posted_comment_reads_back_exactly_as_typed(db) {
        let (e, story, _) = site(&db.store).await;
        let body = "  <b>Bold</b> claim\r\n\nsecond line  ";
        let c = stored(&db.store, &NewComment { email: "me@example.org".into(), ..comment(story, body, "ip1") }, &LIMITS).await;
        assert_eq!((c.body.as_str(), c.status, c.edition_id), (body, CommentStatus::Pending, e));
        assert_eq!(db.store.comment(c.id).await.expect("load"), Some(c.clone()));
        assert!(db.store.published_comments(story).await.expect("list").is_empty(), "pending is not published");
        assert_eq!(db.store.count_comments_with_body(body).await.expect("count"), 1);
    }
}

backend_test! {
    async fn rate_limits_hold_per_address_and_per_story(db) {
        let (_, story, other) = site(&db.store).await;
        let limits = PostLimits { per_ip: 2, per_story: 3, ..LIMITS };
        stored(&db.store, &comment(story, "one", "a"), &limits).await;
        stored(&db.store, &comment(other, "two", "a"), &limits).await;
        let third = db.store.post_comment(&comment(story, "three", "a"), &limits, Utc::now()).await.expect("post");
        assert_eq!(third, PostOutcome::RateLimitedIp);
        stored(&db.store, &comment(story, "four", "b"), &limits).await;
        stored(&db.store, &comment(story, "five", "c"), &limits).await;
        let sixth = db.store.post_comment(&comment(story, "six", "d"), &limits, Utc::now()).await.expect("post");
        assert_eq!(sixth, PostOutcome::RateLimitedStory);
        // A refused post does not count: the other story still takes comments from new addresses.
        stored(&db.store, &comment(other, "seven", "e"), &limits).await;
        // The next window starts afresh.
        let later = Utc::now() + Duration::seconds(limits.window_secs);
        let again = db.store.post_comment(&comment(story, "eight", "a"), &limits, later).await.expect("post");
        assert!(matches!(again, PostOutcome::Stored(_)), "{again:?}");
    }
}

backend_test! {
    async fn the_same_text_is_a_duplicate_on_the_story_or_from_the_address(db) {
        let (_, story, other) = site(&db.store).await;
        stored(&db.store, &comment(story, "Great article!", "a"), &LIMITS).await;
        let same_story = db.store.post_comment(&comment(story, "great   ARTICLE", "b"), &LIMITS, Utc::now()).await.expect("post");
        assert_eq!(same_story, PostOutcome::Duplicate);
        let same_ip = db.store.post_comment(&comment(other, "Great article", "a"), &LIMITS, Utc::now()).await.expect("post");
        assert_eq!(same_ip, PostOutcome::Duplicate);
        stored(&db.store, &comment(other, "Great article", "b"), &LIMITS).await;
        let next_day = Utc::now() + Duration::seconds(LIMITS.duplicate_secs + 1);
        let later = db.store.post_comment(&comment(story, "Great article", "c"), &LIMITS, next_day).await.expect("post");
        assert!(matches!(later, PostOutcome::Stored(_)), "{later:?}");
    }
}

backend_test! {
    async fn replies_attach_to_the_top_level_comment(db) {
        let (_, story, other) = site(&db.store).await;
        // Only published (approved) comments can be answered.
        let approved = |c: NewComment| NewComment { status: CommentStatus::Approved, ..c };
        let top = stored(&db.store, &approved(comment(story, "top", "a")), &LIMITS).await;
        let reply = stored(&db.store, &approved(NewComment { parent_id: Some(top.id), ..comment(story, "reply", "b") }), &LIMITS).await;
        assert_eq!(reply.parent_id, Some(top.id));
        let deeper = stored(&db.store, &NewComment { parent_id: Some(reply.id), ..comment(story, "deeper", "c") }, &LIMITS).await;
        assert_eq!(deeper.parent_id, Some(top.id), "a reply to a reply answers the top-level comment");
        let elsewhere = db
            .store
            .post_comment(&NewComment { parent_id: Some(top.id), ..comment(other, "cross", "d") }, &LIMITS, Utc::now())
            .await
            .expect("post");
        assert_eq!(elsewhere, PostOutcome::BadParent);
        let missing = db
            .store
            .post_comment(&NewComment { parent_id: Some(999_999), ..comment(story, "nothing", "d") }, &LIMITS, Utc::now())
            .await
            .expect("post");
        assert_eq!(missing, PostOutcome::BadParent);
        // A pending comment (here `deeper`) cannot be answered: its author is not public.
        let to_pending = db
            .store
            .post_comment(&NewComment { parent_id: Some(deeper.id), ..comment(story, "to pending", "e") }, &LIMITS, Utc::now())
            .await
            .expect("post");
        assert_eq!(to_pending, PostOutcome::BadParent);
    }
}

backend_test! {
    async fn moderation_records_who_and_logs_visible_changes(db) {
        let (e, story, other) = site(&db.store).await;
        let a = stored(&db.store, &comment(story, "a", "1"), &LIMITS).await;
        let b = stored(&db.store, &comment(story, "b", "2"), &LIMITS).await;
        let c = stored(&db.store, &comment(other, "c", "3"), &LIMITS).await;
        let before = db.store.last_change_id().await.expect("changes");
        let t = Utc.with_ymd_and_hms(2026, 11, 27, 10, 0, 0).single().expect("time");
        let changed =
            db.store.moderate_comments(&[a.id, b.id, c.id], CommentStatus::Approved, &by("ed@example.org"), t).await.expect("approve");
        assert_eq!(changed, vec![(story, e), (other, e)]);
        let log = db.store.changes_since(before, 10).await.expect("log");
        assert_eq!(log.iter().map(|(_, n, _)| *n).collect::<Vec<_>>(), vec![story, other], "one change per story");
        let shown: Vec<String> = db.store.published_comments(story).await.expect("list").into_iter().map(|c| c.body).collect();
        assert_eq!(shown, ["a", "b"], "oldest first");
        // The story page reads its settings and approved comments in one query: the same answers.
        let (target, thread) = db.store.comment_thread(story).await.expect("thread").expect("exists");
        assert_eq!(thread, db.store.published_comments(story).await.expect("list"));
        assert_eq!(target, db.store.comment_target(story).await.expect("target").expect("exists"));
        let a2 = db.store.comment(a.id).await.expect("load").expect("exists");
        assert_eq!((a2.moderated_by.as_deref(), a2.moderated_at), (Some("ed@example.org"), Some(t)));

        // Rejecting a pending comment changes no page; marking an approved one as spam does.
        let d = stored(&db.store, &comment(story, "d", "4"), &LIMITS).await;
        assert!(db.store.moderate_comments(&[d.id], CommentStatus::Rejected, &by("ed"), t).await.expect("reject").is_empty());
        assert_eq!(db.store.moderate_comments(&[b.id], CommentStatus::Spam, &by("mod"), t).await.expect("spam"), vec![(story, e)]);
        let history = db.store.comment_history(b.id).await.expect("history");
        assert_eq!(
            history.iter().map(|(s, who, _)| (*s, who.as_str())).collect::<Vec<_>>(),
            [(CommentStatus::Approved, "ed@example.org"), (CommentStatus::Spam, "mod")]
        );
        assert!(db.store.moderate_comments(&[a.id], CommentStatus::Spam, &by(" "), t).await.is_err(), "who did it is required");

        let queue = db
            .store
            .comment_queue(&QueueFilter { status: Some(CommentStatus::Approved), news_id: None, before_id: None, limit: 50 })
            .await
            .expect("queue");
        assert_eq!(queue.iter().map(|q| q.comment.body.as_str()).collect::<Vec<_>>(), ["c", "a"], "newest first");
        assert_eq!(queue[0].headline, "Second story");
        let on_story = db
            .store
            .comment_queue(&QueueFilter { status: None, news_id: Some(story), before_id: None, limit: 50 })
            .await
            .expect("queue");
        assert_eq!(on_story.iter().map(|q| q.comment.body.as_str()).collect::<Vec<_>>(), ["d", "b", "a"]);
        let paged = db
            .store
            .comment_queue(&QueueFilter { status: None, news_id: Some(story), before_id: Some(d.id), limit: 1 })
            .await
            .expect("queue");
        assert_eq!(paged.iter().map(|q| q.comment.body.as_str()).collect::<Vec<_>>(), ["b"]);
        let counts = db.store.comment_counts(Some(story)).await.expect("counts");
        assert_eq!(
            counts,
            [(CommentStatus::Pending, 0), (CommentStatus::Approved, 1), (CommentStatus::Rejected, 1), (CommentStatus::Spam, 1)]
        );
    }
}

backend_test! {
    async fn a_post_moderated_comment_is_logged_as_a_story_change(db) {
        let (_, story, _) = site(&db.store).await;
        let before = db.store.last_change_id().await.expect("changes");
        stored(&db.store, &comment(story, "pending", "1"), &LIMITS).await;
        assert_eq!(db.store.last_change_id().await.expect("changes"), before, "a pending comment changes no page");
        stored(&db.store, &NewComment { status: CommentStatus::Approved, ..comment(story, "shown", "2") }, &LIMITS).await;
        let log = db.store.changes_since(before, 10).await.expect("log");
        assert_eq!(log.len(), 1);
        assert_eq!(log[0].1, story);
    }
}

backend_test! {
    async fn stories_close_and_editions_choose_their_moderation(db) {
        let (e, story, _) = site(&db.store).await;
        let t = db.store.comment_target(story).await.expect("target").expect("exists");
        assert_eq!((t.closed, t.moderation, t.edition_id, t.status), (false, None, e, StoryStatus::Published));
        assert!(db.store.set_comments_closed(story, true, &by("ed")).await.expect("close"));
        assert!(!db.store.set_comments_closed(424_242, true, &by("ed")).await.expect("no story"));
        assert!(db.store.set_comment_moderation(e, Some(ModerationMode::Post)).await.expect("mode"));
        let t = db.store.comment_target(story).await.expect("target").expect("exists");
        assert_eq!((t.closed, t.moderation), (true, Some(ModerationMode::Post)));
        assert!(db.store.comment_target(424_242).await.expect("none").is_none());
        // Without approved comments: the settings and an empty thread; no story: nothing.
        let (target, thread) = db.store.comment_thread(story).await.expect("thread").expect("exists");
        assert_eq!((target, thread), (t, Vec::new()));
        assert!(db.store.comment_thread(424_242).await.expect("none").is_none());
    }
}

backend_test! {
    async fn the_site_secret_is_made_once_and_shared(db) {
        let first = db.store.site_secret("comment_secret", || "one".into()).await.expect("secret");
        let second = db.store.site_secret("comment_secret", || "two".into()).await.expect("secret");
        assert_eq!((first.as_str(), second.as_str()), ("one", "one"));
        let other = Store::connect(&db.url).await.expect("second pool");
        assert_eq!(other.site_secret("comment_secret", || "three".into()).await.expect("secret"), "one");
    }
}

backend_test! {
    async fn concurrent_posts_from_one_address_never_exceed_the_limit(db) {
        let (_, story, _) = site(&db.store).await;
        let limits = PostLimits { per_ip: 5, ..LIMITS };
        let mut tasks = Vec::new();
        for i in 0..12 {
            let store = db.store.clone();
            tasks.push(tokio::spawn(async move {
                store.post_comment(&comment(story, &format!("text {i}"), "same"), &limits, Utc::now()).await
            }));
        }
        let mut stored_n = 0;
        for t in tasks {
            if matches!(t.await.expect("task").expect("post"), PostOutcome::Stored(_)) {
                stored_n += 1;
            }
        }
        // All posts usually fall into one window; at a window edge, two windows may take 5 each.
        assert!(stored_n == 5 || stored_n == 10, "{stored_n} stored");
    }
}

backend_test! {
    async fn a_story_page_learns_what_the_story_has_from_the_story_s_own_query(db) {
        // The page skips the corrections', translations' and comments' reads
        // when these say there are none: each must turn true with the first.
        let (_, story, other) = site(&db.store).await;
        let facts = |store: Store, id| async move {
            let (s, f) = store.reads().await.expect("reads").story_for_page(id, 5).await.expect("read").expect("found");
            // The story itself, tags and authors in their order, as every other read gives it.
            let alone = store.story(id).await.expect("read").expect("found");
            assert_eq!(serde_json::to_value(&s).expect("json"), serde_json::to_value(&alone).expect("json"));
            f
        };
        let f = facts(db.store.clone(), story).await;
        assert_eq!((f.corrections, f.translations, f.comments), (false, false, false));
        assert_eq!(f.comment_target, db.store.comment_target(story).await.expect("target").expect("found"));
        assert!(db.store.reads().await.expect("reads").story_for_page(999_999, 5).await.expect("read").is_none());

        // A comment waiting for moderation is not on the page; approved, it is.
        let c = stored(&db.store, &comment(story, "First!", "ip"), &LIMITS).await;
        assert!(!facts(db.store.clone(), story).await.comments);
        db.store.moderate_comments(&[c.id], CommentStatus::Approved, &by("ed"), Utc::now()).await.expect("approve");
        let f = facts(db.store.clone(), story).await;
        assert_eq!((f.corrections, f.translations, f.comments), (false, false, true));

        let version = db.store.story(story).await.expect("read").expect("found").version;
        db.store.add_correction(story, version, "A name was misspelt.", &by("ed")).await.expect("correct");
        assert!(facts(db.store.clone(), story).await.corrections);
        assert!(!facts(db.store.clone(), other).await.corrections, "another story's correction");

        // A translation: a story of another edition linked to this one.
        let fa = db
            .store
            .upsert_edition(&NewEdition {
                lang: "fa".into(),
                name: "خبرگزاری".into(),
                direction: Direction::Rtl,
                time_zone: chrono_tz::Asia::Tehran,
                is_default: false,
            })
            .await
            .expect("edition")
            .id;
        let input = StoryInput {
            tags: vec!["نفت".into(), "Zeta \"quoted\"".into(), "Alpha".into()],
            authors: vec!["Reporter B".into(), "خبرنگار".into()],
            ..published(fa, "ایران", "خبر نخست")
        };
        let (persian, _) = db.store.save_story(&input).await.expect("story");
        db.store
            .set_translation_of(persian, Some(story), &AuditEntry::system("ed", "story.translate", "story", persian, ""))
            .await
            .expect("link");
        assert!(facts(db.store.clone(), story).await.translations);
        assert!(facts(db.store.clone(), persian).await.translations);
        let (p, _) = db.store.reads().await.expect("reads").story_for_page(persian, 5).await.expect("read").expect("found");
        let tags: Vec<&str> = p.tags.iter().map(|t| t.name.as_str()).collect();
        let authors: Vec<&str> = p.authors.iter().map(|a| a.name.as_str()).collect();
        assert_eq!((tags, authors), (vec!["نفت", "Zeta \"quoted\"", "Alpha"], vec!["Reporter B", "خبرنگار"]));
        assert!(!facts(db.store.clone(), other).await.translations, "a story outside the group");
    }
}
