//! Storage behaviour, on SQLite and on PostgreSQL.

use crate::edition;
use chrono::{Duration, TimeZone, Utc};
use newsdesk_domain::{BodyFormat, StoryStatus};
use newsdesk_storage::{Cursor, SaveOutcome, SectionRef, StoryFilter, StoryInput, backend_test};

fn story(edition_id: i64, news_id: Option<i64>, sections: &[&str], headline: &str, minute: i64) -> StoryInput {
    StoryInput {
        news_id,
        edition_id,
        section: SectionRef::Names(sections.iter().map(|s| s.to_string()).collect()),
        slug: None,
        headline: headline.into(),
        lead: format!("Lead of {headline}"),
        body_source: "First paragraph.\n\nSecond <paragraph>.".into(),
        body_format: BodyFormat::Text,
        photo_id: None,
        gallery_id: None,
        status: StoryStatus::Published,
        published_at: Some(Utc.with_ymd_and_hms(2023, 11, 15, 11, 7, 0).unwrap() + Duration::minutes(minute)),
        tags: vec!["Defense".into(), "Missiles".into()],
        authors: vec!["Staff Writer".into()],
        agency: None,
        actor: "test".into(),
    }
}

backend_test! {
    async fn saved_story_reads_back_with_sections_tags_and_authors(db) {
        let e = edition(&db.store).await;
        let (id, outcome) = db.store.save_story(&story(e, Some(84427), &["Iran", "Defense"], "Iran’s News", 0)).await.expect("save");
        assert_eq!((id, outcome), (84427, SaveOutcome::Created));
        let s = db.store.story(84427).await.expect("load").expect("exists");
        assert_eq!(s.slug, "irans-news");
        assert_eq!(s.body_html, "<p>First paragraph.</p>\n<p>Second &lt;paragraph&gt;.</p>");
        assert_eq!(s.tags.iter().map(|t| t.slug.as_str()).collect::<Vec<_>>(), ["defense", "missiles"]);
        assert_eq!(s.authors[0].name, "Staff Writer");
        let sections = db.store.sections(e).await.expect("sections");
        assert_eq!(sections.iter().map(|s| s.path.as_str()).collect::<Vec<_>>(), ["iran", "iran/defense"]);
        assert_eq!(sections[1].parent_id, Some(sections[0].id));
        assert_eq!(s.section_id, sections[1].id);
    }
}

backend_test! {
    async fn saving_the_same_story_twice_changes_nothing(db) {
        let e = edition(&db.store).await;
        let input = story(e, Some(84427), &["Iran"], "Same", 0);
        db.store.save_story(&input).await.expect("first");
        assert_eq!(db.store.save_story(&input).await.expect("second").1, SaveOutcome::Unchanged);
        let mut changed = input.clone();
        changed.lead = "A new lead".into();
        assert_eq!(db.store.save_story(&changed).await.expect("third").1, SaveOutcome::Updated);
        let s = db.store.story(84427).await.expect("load").expect("exists");
        assert_eq!((s.version, s.lead.as_str()), (2, "A new lead"));
        // An edit of a published story is a public update.
        assert!(s.updated_at.is_some_and(|u| u > s.published_at.expect("published")));
        assert_eq!(db.store.story_count().await.expect("count"), 1);
    }
}

backend_test! {
    async fn new_stories_take_the_next_news_id_after_imported_ones(db) {
        let e = edition(&db.store).await;
        db.store.save_story(&story(e, Some(84427), &["Iran"], "Imported", 0)).await.expect("import");
        let (a, _) = db.store.save_story(&story(e, None, &["Iran"], "New one", 1)).await.expect("new");
        let (b, _) = db.store.save_story(&story(e, None, &["World"], "New two", 2)).await.expect("new");
        assert_eq!((a, b), (84428, 84429));
        db.store.save_story(&story(e, Some(10), &["Iran"], "Old import", 3)).await.expect("old id");
        let (c, _) = db.store.save_story(&story(e, None, &["Iran"], "New three", 4)).await.expect("new");
        assert_eq!(c, 84430);
    }
}

backend_test! {
    async fn lists_page_by_keyset_newest_first(db) {
        let e = edition(&db.store).await;
        for i in 0..7 {
            db.store.save_story(&story(e, None, &["Iran", "Defense"], &format!("Story {i}"), i)).await.expect("save");
        }
        // Same publish time: ties break on News ID.
        db.store.save_story(&story(e, None, &["World"], "Tie", 6)).await.expect("save");
        let filter = StoryFilter::Section { edition_id: e, path: "iran".into() };
        let first = db.store.published(&filter, None, 3).await.expect("page 1");
        assert_eq!(first.iter().map(|s| s.headline.as_str()).collect::<Vec<_>>(), ["Story 6", "Story 5", "Story 4"]);
        let second = db.store.published(&filter, Some(Cursor::after(&first[2])), 3).await.expect("page 2");
        assert_eq!(second.iter().map(|s| s.headline.as_str()).collect::<Vec<_>>(), ["Story 3", "Story 2", "Story 1"]);
        let all = db.store.published(&StoryFilter::Edition(e), None, 100).await.expect("all");
        assert_eq!(all.len(), 8);
        assert_eq!(all[0].headline, "Tie");
        let c = Cursor::after(&all[0]);
        assert_eq!(Cursor::decode(&c.encode()), Some(c));
        let tag = db.store.tag_by_slug(e, "missiles").await.expect("tag").expect("exists");
        assert_eq!(db.store.published(&StoryFilter::Tag(tag.id), None, 100).await.expect("tag list").len(), 8);
        let author = db.store.author_by_slug("staff-writer").await.expect("author").expect("exists");
        assert_eq!(db.store.published(&StoryFilter::Author { edition_id: e, author_id: author.id }, None, 2).await.expect("author list").len(), 2);
    }
}

backend_test! {
    async fn unpublished_stories_leave_lists_and_related_shows_older_neighbours(db) {
        let e = edition(&db.store).await;
        for i in 0..4 {
            db.store.save_story(&story(e, Some(100 + i), &["Iran"], &format!("S{i}"), i)).await.expect("save");
        }
        let s2 = db.store.story(102).await.expect("load").expect("exists");
        let related = db.store.related(&s2, 5).await.expect("related");
        assert_eq!(related.iter().map(|s| s.news_id).collect::<Vec<_>>(), [101, 100]);
        assert!(db.store.set_story_status(101, StoryStatus::Unpublished).await.expect("unpublish"));
        let related = db.store.related(&s2, 5).await.expect("related");
        assert_eq!(related.iter().map(|s| s.news_id).collect::<Vec<_>>(), [100]);
        assert_eq!(db.store.published(&StoryFilter::Edition(e), None, 10).await.expect("list").len(), 3);
        assert_eq!(db.store.story(101).await.expect("load").expect("kept").status, StoryStatus::Unpublished);
        let changes = db.store.changes_since(0, 100).await.expect("changes");
        assert_eq!(changes.len(), 5);
        assert_eq!(changes.last().map(|c| c.1), Some(101));
    }
}

backend_test! {
    async fn the_story_pages_query_reads_the_same_stories_before_it_as_related(db) {
        // The story page reads its section's stories before it in the story's
        // own query (a JSON column): the same list, text and times read back
        // exactly, as `Store::related`.
        let e = edition(&db.store).await;
        for i in 0..8_i64 {
            db.store.save_story(&story(e, Some(200 + i), &["Iran"], &format!("S{i} «quoted» \\ \"text\" <b>"), i / 2)).await.expect("save");
        }
        db.store.save_story(&story(e, Some(300), &["World"], "Elsewhere", 1)).await.expect("other section");
        db.store.save_story(&StoryInput { status: StoryStatus::Draft, ..story(e, Some(301), &["Iran"], "Draft", 1) }).await.expect("draft");
        db.store.save_story(&StoryInput { status: StoryStatus::Draft, published_at: None, ..story(e, Some(302), &["Iran"], "Unpublished", 9) }).await.expect("new draft");
        for (news_id, limit, expected) in [(207, 5, 5), (207, 3, 3), (205, 5, 5), (201, 5, 1), (200, 5, 0), (300, 5, 0), (302, 5, 0)] {
            let story = db.store.story(news_id).await.expect("load").expect("exists");
            let related = db.store.related(&story, limit).await.expect("related");
            assert_eq!(related.len(), expected, "story {news_id}, {limit}");
            let (_, facts) = db.store.reads().await.expect("reads").story_for_page(news_id, limit).await.expect("read").expect("found");
            assert_eq!(facts.related, related, "story {news_id}, {limit}");
        }
        // Ties on the publish time break on the News ID; each link is its story's own.
        let (_, facts) = db.store.reads().await.expect("reads").story_for_page(207, 5).await.expect("read").expect("found");
        assert_eq!(facts.related.iter().map(|s| s.news_id).collect::<Vec<_>>(), [206, 205, 204, 203, 202]);
        for link in &facts.related {
            let s = db.store.story(link.news_id).await.expect("load").expect("exists");
            assert_eq!((&link.headline, &link.slug, Some(link.published_at)), (&s.headline, &s.slug, s.published_at));
            assert_eq!(link.path(), s.path());
        }
        assert_eq!(facts.related[0].headline, "S6 «quoted» \\ \"text\" <b>");
    }
}

backend_test! {
    async fn edition_updated_time_is_the_newest_publish_or_update(db) {
        let e = edition(&db.store).await;
        assert_eq!(db.store.edition_updated_at(e).await.expect("empty"), None);
        db.store.save_story(&story(e, Some(1), &["Iran"], "A", 0)).await.expect("save");
        db.store.save_story(&story(e, Some(2), &["Iran"], "B", 30)).await.expect("save");
        let b = db.store.story(2).await.expect("load").expect("exists");
        assert_eq!(db.store.edition_updated_at(e).await.expect("t"), b.published_at);
        let later = b.published_at.expect("published") + Duration::hours(2);
        db.store.mark_updated(1, later).await.expect("update");
        assert_eq!(db.store.edition_updated_at(e).await.expect("t"), Some(later));
    }
}

backend_test! {
    async fn photos_are_deduplicated_by_content(db) {
        let a = db.store.put_photo(b"bytes", "image/png", 2, 1, "Cap", "Credit", "abc").await.expect("put");
        let b = db.store.put_photo(b"bytes", "image/png", 2, 1, "New cap", "Credit", "abc").await.expect("put again");
        assert_eq!(a.id, b.id);
        assert_eq!(b.caption, "New cap");
        assert_eq!(db.store.photo_bytes("abc").await.expect("get"), Some(("image/png".to_string(), b"bytes".to_vec())));
        assert_eq!(db.store.photo_bytes("nope").await.expect("get"), None);
    }
}

backend_test! {
    async fn a_story_in_an_unknown_section_is_refused(db) {
        let e = edition(&db.store).await;
        let mut input = story(e, None, &["Iran"], "X", 0);
        input.section = SectionRef::Id(9999);
        assert!(db.store.save_story(&input).await.is_err());
        assert_eq!(db.store.story_count().await.expect("count"), 0);
    }
}

backend_test! {
    async fn stories_are_read_in_one_batch_as_one_by_one(db) {
        let e = edition(&db.store).await;
        let mut ids = Vec::new();
        for i in 0..5 {
            let mut input = story(e, None, &["Iran"], &format!("Batch {i}"), i);
            input.tags = vec![format!("Tag {i}"), "Shared".into()];
            input.authors = vec![format!("Author {i}"), "Desk".into()];
            ids.push(db.store.save_story(&input).await.expect("save").0);
        }
        // In the order asked, unknown ids left out, each equal to the story read alone.
        let asked = [ids[3], 999_999, ids[0], ids[4]];
        let batch = db.store.stories(&asked).await.expect("batch");
        assert_eq!(batch.iter().map(|s| s.news_id).collect::<Vec<_>>(), [ids[3], ids[0], ids[4]]);
        for s in &batch {
            let alone = db.store.story(s.news_id).await.expect("story").expect("exists");
            assert_eq!(format!("{s:?}"), format!("{alone:?}"));
        }
        assert_eq!(batch[0].tags.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(), ["Tag 3", "Shared"]);
        assert_eq!(batch[1].authors.iter().map(|a| a.name.as_str()).collect::<Vec<_>>(), ["Author 0", "Desk"]);
        assert!(db.store.stories(&[]).await.expect("none").is_empty());
    }
}

backend_test! {
    async fn statistics_are_refreshed_after_a_bulk_load(db) {
        // PostgreSQL plans from them; right after a bulk load, before
        // autovacuum gets there, it has none for the new rows.
        db.store.refresh_statistics().await.expect("refresh");
        if db.store.backend() == newsdesk_storage::Backend::Postgres {
            let pool = sqlx::AnyPool::connect(&db.url).await.expect("raw pool");
            let analyzed: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM pg_stat_user_tables WHERE relname = 'stories' AND last_analyze IS NOT NULL",
            )
            .fetch_one(&pool)
            .await
            .expect("stats");
            pool.close().await;
            assert_eq!(analyzed, 1, "the stories table was not analyzed");
        }
    }
}

backend_test! {
    /// Reads of nothing take no connection: they answer even with the
    /// database gone (a search page whose index found nothing, a story
    /// without photo or gallery).
    async fn reads_of_nothing_take_no_connection(db) {
        let store = db.store.clone();
        store.close().await;
        assert!(store.stories(&[]).await.expect("no stories asked").is_empty());
        let (plain, crops) = store.photo_all_renditions_of(&[]).await.expect("no photos asked");
        assert!(plain.is_empty() && crops.is_empty());
        assert!(store.stories(&[84427]).await.is_err(), "a real read needs the closed pool");
    }
}

backend_test! {
    async fn bodies_are_read_by_news_id_and_connections_give_back_their_page_memory(db) {
        let e = edition(&db.store).await;
        db.store.save_story(&story(e, Some(84427), &["Iran"], "One", 0)).await.expect("one");
        db.store.save_story(&story(e, Some(84428), &["Iran"], "Two", 1)).await.expect("two");
        let mut bodies = db.store.bodies_html(&[84428, 84427, 99999]).await.expect("bodies");
        bodies.sort();
        let expected = "<p>First paragraph.</p>\n<p>Second &lt;paragraph&gt;.</p>".to_string();
        assert_eq!(bodies, vec![(84427, expected.clone()), (84428, expected)], "a missing ID is left out");
        assert!(db.store.bodies_html(&[]).await.expect("none").is_empty());
        let many: Vec<i64> = (1..=1001).collect();
        assert!(db.store.bodies_html(&many).await.is_err(), "at most 1000 at once");

        // Reads filled the connections' memory; on SQLite the idle ones are
        // closed, and reads go on, on new ones.
        let (a, b) = tokio::join!(db.store.story(84427), db.store.story(84428));
        assert!(a.expect("a").is_some() && b.expect("b").is_some());
        newsdesk_storage::testing::all_idle(&db.store).await;
        let open = db.store.pool_stats().size as usize;
        assert!(open >= 2, "the two reads had a connection each: {open}");
        let closed = db.store.release_memory().await.expect("release");
        match db.store.backend() {
            newsdesk_storage::Backend::Sqlite => {
                assert_eq!(closed, open, "every idle connection closed");
                assert_eq!(db.store.pool_stats().size, 0, "{:?}", db.store.pool_stats());
            }
            newsdesk_storage::Backend::Postgres => {
                assert_eq!(closed, 0, "nothing kept on this side");
                assert_eq!(db.store.pool_stats().size as usize, open, "none closed");
            }
        }
        let (a, b) = tokio::join!(db.store.story(84427), db.store.story(84428));
        assert_eq!(a.expect("read").expect("story").headline, "One");
        assert_eq!(b.expect("read").expect("story").headline, "Two");
        // Connections go back to the pool on a task of their own: none is kept.
        newsdesk_storage::testing::all_idle(&db.store).await;
    }
}

backend_test! {
    /// A bulk load on PostgreSQL numbers its batches in order and stores two
    /// at once: each gets the News IDs set aside for it, tags and authors
    /// new to several batches are created once, and existing ones keep their
    /// first spelling.
    async fn batches_numbered_in_order_are_stored_side_by_side(db) {
        let e = edition(&db.store).await;
        let (existing, _) = db.store.save_story(&story(e, None, &["Iran"], "Before", 0)).await.expect("before");
        let batch = |k: usize, tags: [&str; 3]| -> Vec<StoryInput> {
            (0..40)
                .map(|i| {
                    let mut s = story(e, None, &["Iran"], &format!("Batch {k} story {i}"), (k * 100 + i) as i64);
                    s.tags = tags.iter().map(|t| t.to_string()).collect();
                    s.authors = vec!["STAFF WRITER".into(), format!("Writer {k}")];
                    s
                })
                .collect()
        };
        // New tags in opposite orders; "DEFENSE" exists as "Defense".
        let mut a = db.store.prepare_stories(batch(1, ["Zeta new", "Alpha new", "DEFENSE"])).await.expect("a");
        let mut b = db.store.prepare_stories(batch(2, ["Alpha new", "Zeta new", "Defense"])).await.expect("b");
        let mut c = db.store.prepare_stories(batch(3, ["Gamma", "Zeta new", "Alpha new"])).await.expect("c");
        for p in [&mut a, &mut b, &mut c] {
            db.store.number_prepared(p).await.expect("numbered");
        }
        let again = db.store.number_prepared(&mut a).await;
        assert!(matches!(again, Err(newsdesk_storage::StoreError::Invalid(_))), "{again:?}");
        // A numbered batch never stored leaves a gap, nothing else.
        let mut dropped = db.store.prepare_stories(batch(4, ["Gamma", "Delta", "Defense"])).await.expect("d");
        db.store.number_prepared(&mut dropped).await.expect("numbered");
        drop(dropped);

        let before = db.store.last_change_id().await.expect("head");
        let (ra, rb, rc) =
            tokio::join!(db.store.create_prepared(&a), db.store.create_prepared(&b), db.store.create_prepared(&c));
        let ids = [ra.expect("a stored"), rb.expect("b stored"), rc.expect("c stored")];
        for (k, ids) in ids.iter().enumerate() {
            let first = existing + 1 + 40 * k as i64;
            assert_eq!(*ids, (first..first + 40).collect::<Vec<_>>(), "batch {k} has its own News IDs, in order");
        }
        let (after, _) = db.store.save_story(&story(e, None, &["Iran"], "After", 999)).await.expect("after");
        assert_eq!(after, existing + 1 + 40 * 4, "the next story comes after the batch left out");
        assert_eq!(db.store.story_count().await.expect("count"), 1 + 3 * 40 + 1);

        let stories = db.store.stories(&[ids[0][0], ids[1][39], ids[2][7]]).await.expect("read");
        let names = |s: &newsdesk_domain::Story| s.tags.iter().map(|t| t.name.clone()).collect::<Vec<_>>();
        assert_eq!(names(&stories[0]), ["Zeta new", "Alpha new", "Defense"]);
        assert_eq!(names(&stories[1]), ["Alpha new", "Zeta new", "Defense"]);
        assert_eq!(names(&stories[2]), ["Gamma", "Zeta new", "Alpha new"]);
        assert_eq!(stories[0].tags[0].id, stories[1].tags[1].id, "one tag however many batches create it");
        assert_eq!(stories[0].tags[0].id, stories[2].tags[1].id);
        assert_eq!(stories[1].authors.iter().map(|a| a.name.as_str()).collect::<Vec<_>>(), ["Staff Writer", "Writer 2"]);
        assert_eq!(stories[0].authors[0].id, stories[2].authors[0].id);
        // The bylines kept in the rows (what the pages show) have the same
        // tags, ids and stored names ("Defense", not "DEFENSE").
        let (compared, stale) = newsdesk_storage::testing::stale_bylines(&db.store).await;
        assert_eq!((compared, stale), (1 + 3 * 40 + 1, Vec::new()));
        let (page, _) = db.store.reads().await.expect("reads").story_for_page(ids[0][0], 5).await.expect("read").expect("found");
        assert_eq!((&page.tags, &page.authors), (&stories[0].tags, &stories[0].authors));
        let zeta = db.store.tag_by_slug(e, "zeta-new").await.expect("tag").expect("zeta");
        assert_eq!(zeta.name, "Zeta new");
        let changes = db.store.changes_since(before, 1000).await.expect("changes");
        assert_eq!(changes.len(), 3 * 40 + 1, "one change a story");
    }
}

backend_test! {
    /// A PostgreSQL connection left idle in the pool is tested before it is
    /// used again (not before every use): one the server dropped meanwhile
    /// is replaced, and the read answers.
    async fn an_idle_connection_the_server_dropped_is_replaced_before_use(db) {
        let e = edition(&db.store).await;
        let (id, _) = db.store.save_story(&story(e, None, &["Iran"], "Kept", 0)).await.expect("save");
        assert!(db.store.story(id).await.expect("read").is_some());
        if db.store.backend() == newsdesk_storage::Backend::Postgres {
            let admin = sqlx::AnyPool::connect(&db.url).await.expect("admin pool");
            let mut admin_conn = admin.acquire().await.expect("admin connection");
            let dropped: Vec<bool> = sqlx::query_scalar(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                 WHERE datname = current_database() AND pid <> pg_backend_pid()",
            )
            .fetch_all(&mut *admin_conn)
            .await
            .expect("terminate");
            assert!(!dropped.is_empty(), "the store's connection was there to drop");
            drop(admin_conn);
            admin.close().await;
            tokio::time::sleep(std::time::Duration::from_millis(1_300)).await;
        }
        let read = db.store.story(id).await;
        assert!(matches!(read, Ok(Some(_))), "{read:?}");
    }
}

backend_test! {
    /// Tags are looked up a few hundred a statement: a batch naming more stores them all.
    async fn a_batch_with_more_tags_than_one_lookup_takes_stores_them_all(db) {
        let e = edition(&db.store).await;
        let mut s = story(e, None, &["Iran"], "Many tags", 0);
        s.tags = (0..1_100).map(|i| format!("Tag {i}")).collect();
        let ids = db.store.create_stories(&[s]).await.expect("stored");
        let stored = db.store.story(ids[0]).await.expect("read").expect("story");
        assert_eq!(stored.tags.len(), 1_100);
        assert_eq!(stored.tags[1_099].name, "Tag 1099", "in the story's order");
    }
}

backend_test! {
    async fn a_long_story_is_stored_compressed_where_the_server_can_and_reads_back_whole(db) {
        // An article of ~12 KB in Persian and English: its row is well over the
        // 2 KB above which PostgreSQL compresses the longest values.
        let e = edition(&db.store).await;
        let paragraphs: Vec<String> = (0..60)
            .map(|i| format!("Paragraph {i}: تهران — the agency's correspondent reports on item {i}, with figures {}.", i * 37))
            .collect();
        let mut input = story(e, None, &["Iran"], "A long report", 0);
        input.body_source = paragraphs.join("\n\n");
        let (id, _) = db.store.save_story(&input).await.expect("save");
        let s = db.store.story(id).await.expect("load").expect("exists");
        assert_eq!(s.body_source, input.body_source);
        assert!(s.body_html.contains("<p>Paragraph 59: تهران"), "{}", &s.body_html[s.body_html.len() - 200..]);
        if db.store.backend() == newsdesk_storage::Backend::Postgres {
            let pool = sqlx::AnyPool::connect(&db.url).await.expect("raw pool");
            let lz4: bool = sqlx::query_scalar::<_, bool>(
                "SELECT EXISTS (SELECT 1 FROM pg_settings WHERE name = 'default_toast_compression' AND 'lz4' = ANY (enumvals))",
            )
            .fetch_one(&pool)
            .await
            .expect("settings");
            let (html, source): (Option<String>, Option<String>) = sqlx::query_as(
                "SELECT pg_column_compression(body_html)::text, pg_column_compression(body_source)::text FROM stories WHERE news_id = $1",
            )
            .bind(id)
            .fetch_one(&pool)
            .await
            .expect("compression");
            let revision: Option<String> = sqlx::query_scalar(
                "SELECT pg_column_compression(body_source)::text FROM story_revisions WHERE news_id = $1",
            )
            .bind(id)
            .fetch_one(&pool)
            .await
            .expect("revision");
            let expected = if lz4 { "lz4" } else { "pglz" };
            assert_eq!(
                (html.as_deref(), source.as_deref(), revision.as_deref()),
                (Some(expected), Some(expected), Some(expected)),
                "this server {} lz4",
                if lz4 { "has" } else { "has no" }
            );
            pool.close().await;
        }
    }
}

backend_test! {
    /// The story page reads a story's tags and authors from the list kept in
    /// its row (migration 40), not from the link tables: every write of the
    /// links writes the list too, with the stored names (the first spelling
    /// of a tag or author wins), in order, and a merge of tags rewrites the
    /// lists of the stories it moves.
    async fn a_storys_byline_kept_in_its_row_follows_saves_and_merges(db) {
        use newsdesk_storage::AuditEntry;
        let e = edition(&db.store).await;
        let names = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let save = |news_id: i64, tags: &[&str], authors: &[&str]| {
            let mut input = story(e, Some(news_id), &["World"], &format!("Story {news_id}"), news_id - 84_000);
            input.tags = names(tags);
            input.authors = names(authors);
            input
        };
        // What the page reads, and what the editor reads from the link tables.
        let read = |news_id: i64| {
            let store = db.store.clone();
            async move {
                let (page, _) = store.reads().await.expect("reads").story_for_page(news_id, 5).await.expect("read").expect("found");
                let linked = store.story(news_id).await.expect("read").expect("found");
                assert_eq!((&page.tags, &page.authors), (&linked.tags, &linked.authors), "story {news_id}");
                let tags: Vec<String> = page.tags.iter().map(|t| t.name.clone()).collect();
                let authors: Vec<String> = page.authors.iter().map(|a| a.name.clone()).collect();
                (tags, authors)
            }
        };
        let no_stale = || async {
            let (compared, stale) = newsdesk_storage::testing::stale_bylines(&db.store).await;
            assert!(compared >= 3, "{compared} stories compared");
            assert_eq!(stale, Vec::new());
        };

        db.store.save_story(&save(84427, &["Oil Prices", "Iran", "iran "], &["Staff Writer", "Jane Doe"])).await.expect("save");
        db.store.save_story(&save(84428, &["OIL PRICES", "Gulf"], &["jane doe"])).await.expect("save");
        db.store.save_story(&save(84429, &["Gulf"], &[])).await.expect("save");
        no_stale().await;
        assert_eq!(read(84427).await, (names(&["Oil Prices", "Iran"]), names(&["Staff Writer", "Jane Doe"])));
        assert_eq!(read(84428).await, (names(&["Oil Prices", "Gulf"]), names(&["Jane Doe"])));

        // Reordered, one tag and every author taken off.
        db.store.save_story(&save(84427, &["Gulf", "Oil Prices"], &[])).await.expect("edit");
        no_stale().await;
        assert_eq!(read(84427).await, (names(&["Gulf", "Oil Prices"]), Vec::new()));

        // Gulf merged into Oil Prices: 84427 and 84428 had both, 84429 only Gulf.
        let tags = db.store.story(84429).await.expect("read").expect("found").tags;
        let gulf = tags[0].id;
        let oil = db.store.story(84428).await.expect("read").expect("found").tags[0].id;
        let audit = AuditEntry::system("test", "tag.merge", "tag", oil, "");
        assert_eq!(db.store.merge_tags(e, gulf, oil, &audit).await.expect("merge"), 3);
        no_stale().await;
        assert_eq!(read(84427).await, (names(&["Oil Prices"]), Vec::new()));
        assert_eq!(read(84428).await, (names(&["Oil Prices"]), names(&["Jane Doe"])));
        assert_eq!(read(84429).await, (names(&["Oil Prices"]), Vec::new()));
    }
}
