//! Focal points, hand-set crops and crop renditions of photos (migration 32), on SQLite and on PostgreSQL.

use newsdesk_domain::crop::{Focus, Ratio, Rect};
use newsdesk_domain::photo_meta::PhotoDetails;
use newsdesk_domain::{BodyFormat, Direction, StoryStatus};
use newsdesk_storage::{
    AuditEntry, Framing, NewCropRendition, NewEdition, NewPhoto, NewRendition, SectionRef, StoryInput, backend_test,
};
use sha2::{Digest, Sha256};

fn sha(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn photo(bytes: &[u8]) -> NewPhoto {
    NewPhoto {
        sha256: sha(bytes),
        mime: "image/jpeg".into(),
        width: 2000,
        height: 1000,
        bytes: bytes.to_vec(),
        caption: "Harbour".into(),
        credit: "Agency".into(),
        details: PhotoDetails::default(),
    }
}

fn crop(ratio: Ratio, bytes: &[u8], mime: &str, width: i64) -> NewCropRendition {
    let height = i64::from(ratio.height_for(u32::try_from(width).expect("width")));
    NewCropRendition {
        ratio,
        rendition: NewRendition { sha256: sha(bytes), mime: mime.into(), width, height, bytes: bytes.to_vec() },
    }
}

fn upload() -> AuditEntry {
    AuditEntry::system("test", "media.upload", "photo", "", "")
}

backend_test! {
    async fn a_photo_is_centred_until_framed_and_a_new_framing_replaces_its_crops(db) {
        let stored = db.store.add_photo(&photo(b"original"), &[], &upload()).await.expect("add");
        assert_eq!(db.store.photo_framing(stored.id).await.expect("framing"), Framing::default());
        assert_eq!(db.store.photos_without_crop_renditions(0, 10).await.expect("missing").len(), 1);
        let first = [crop(Ratio::Wide, b"wide 320", "image/jpeg", 320), crop(Ratio::Square, b"square 320", "image/webp", 320)];
        db.store.add_crop_renditions(stored.id, &first).await.expect("crops");
        assert!(db.store.photos_without_crop_renditions(0, 10).await.expect("missing").is_empty());
        // A second node making them too keeps the first ones.
        db.store.add_crop_renditions(stored.id, &[crop(Ratio::Wide, b"other", "image/jpeg", 640)]).await.expect("again");
        let listed = db.store.photo_crop_renditions(stored.id).await.expect("listed");
        let shape: Vec<(Ratio, i64, i64, &str)> = listed.iter().map(|r| (r.ratio, r.width, r.height, r.mime.as_str())).collect();
        assert_eq!(shape, vec![(Ratio::Wide, 320, 180, "image/jpeg"), (Ratio::Square, 320, 320, "image/webp")]);
        assert_eq!(listed[1].path(), format!("/media/{}.webp", sha(b"square 320")));
        assert_eq!(db.store.photo_bytes(&sha(b"square 320")).await.expect("bytes"), Some(("image/webp".into(), b"square 320".to_vec())));

        let framing = Framing {
            focus: Focus { x: 0.25, y: 0.75 },
            crops: vec![(Ratio::Standard, Rect { x: 10, y: 20, width: 400, height: 300 })],
        };
        let audit = AuditEntry::system("test", "media.framing", "photo", stored.id.to_string(), "focus 25% 75%");
        let stories = db.store
            .set_photo_framing(stored.id, &framing, &[crop(Ratio::Wide, b"new wide", "image/jpeg", 1200)], &audit)
            .await
            .expect("framed")
            .expect("the photo exists");
        assert!(stories.is_empty());
        assert_eq!(db.store.photo_framing(stored.id).await.expect("framing"), framing);
        let listed = db.store.photo_crop_renditions(stored.id).await.expect("listed");
        assert_eq!(listed.iter().map(|r| (r.ratio, r.width)).collect::<Vec<_>>(), vec![(Ratio::Wide, 1200)], "the old ones are gone");
        assert_eq!(db.store.photo_bytes(&sha(b"square 320")).await.expect("bytes"), None);
        let log = db.store.audit_log(Some(("photo", &stored.id.to_string())), 5).await.expect("audit");
        assert_eq!(log.first().map(|e| e.action.as_str()), Some("media.framing"));
        // Back to the focal point alone.
        let centred = Framing { focus: Focus { x: 0.5, y: 0.1 }, crops: Vec::new() };
        db.store.set_photo_framing(stored.id, &centred, &[], &audit).await.expect("framed").expect("exists");
        assert_eq!(db.store.photo_framing(stored.id).await.expect("framing"), centred);
        assert!(db.store.set_photo_framing(stored.id + 100, &centred, &[], &audit).await.expect("no photo").is_none());
    }
}

fn edition() -> NewEdition {
    NewEdition {
        lang: "en".into(),
        name: "Agency".into(),
        direction: Direction::Ltr,
        time_zone: chrono_tz::Asia::Tehran,
        is_default: true,
    }
}

backend_test! {
    async fn framing_a_photo_marks_the_stories_showing_it_changed(db) {
        let stored = db.store.add_photo(&photo(b"shown"), &[], &upload()).await.expect("add");
        let edition = db.store.upsert_edition(&edition()).await.expect("edition");
        let (news_id, ..) = db.store
            .save_story(&StoryInput {
                news_id: None,
                edition_id: edition.id,
                section: SectionRef::Names(vec!["World".into()]),
                slug: None,
                headline: "With a photo".into(),
                lead: "Lead.".into(),
                body_source: "Body.".into(),
                body_format: BodyFormat::Text,
                photo_id: Some(stored.id),
                gallery_id: None,
                status: StoryStatus::Published,
                published_at: Some(chrono::Utc::now()),
                tags: Vec::new(),
                authors: Vec::new(),
                agency: None,
                actor: "test".into(),
            })
            .await
            .expect("story");
        let before = db.store.last_change_id().await.expect("changes");
        let audit = AuditEntry::system("test", "media.framing", "photo", stored.id.to_string(), "");
        let framing = Framing { focus: Focus { x: 0.1, y: 0.1 }, crops: Vec::new() };
        let stories = db.store.set_photo_framing(stored.id, &framing, &[], &audit).await.expect("framed").expect("exists");
        assert_eq!(stories, vec![(news_id, edition.id)]);
        let changes = db.store.changes_since(before, 10).await.expect("changes");
        assert_eq!(changes.iter().map(|c| c.1).collect::<Vec<_>>(), vec![news_id]);
        let before = db.store.last_change_id().await.expect("changes");
        db.store.add_crop_renditions(stored.id, &[crop(Ratio::Square, b"sq", "image/jpeg", 320)]).await.expect("crops");
        assert_eq!(db.store.changes_since(before, 10).await.expect("changes").len(), 1, "pages pick up the new crops");
    }
}

backend_test! {
    async fn renditions_and_crops_of_several_photos_read_in_one_query_match_the_separate_reads(db) {
        let renditions = |tag: &str| {
            [(640, "image/webp"), (320, "image/jpeg"), (320, "image/webp")].map(|(width, mime)| {
                let bytes = format!("{tag} {width} {mime}").into_bytes();
                NewRendition { sha256: sha(&bytes), mime: mime.into(), width, height: width / 2, bytes }
            })
        };
        let a = db.store.add_photo(&photo(b"photo a"), &renditions("a"), &upload()).await.expect("a");
        let b = db.store.add_photo(&photo(b"photo b"), &renditions("b"), &upload()).await.expect("b");
        let bare = db.store.add_photo(&photo(b"photo c"), &[], &upload()).await.expect("c");
        let crops_a = [
            crop(Ratio::Square, b"a square 640", "image/webp", 640),
            crop(Ratio::Wide, b"a wide 640", "image/jpeg", 640),
            crop(Ratio::Wide, b"a wide 320", "image/webp", 320),
        ];
        db.store.add_crop_renditions(a.id, &crops_a).await.expect("crops a");
        db.store.add_crop_renditions(b.id, &[crop(Ratio::Standard, b"b 4:3", "image/jpeg", 480)]).await.expect("crops b");

        let ids = [a.id, b.id, bare.id];
        let (plain, crops) = db.store.photo_all_renditions_of(&ids).await.expect("together");
        assert_eq!(plain, db.store.photo_renditions_of(&ids).await.expect("renditions"));
        assert_eq!(crops, db.store.photo_crop_renditions_of(&ids).await.expect("crops"));
        // Narrowest first (JPEG before WebP at each width), crops by ratio, sizes as stored.
        let shape: Vec<(i64, &str, i64)> = plain[&a.id].iter().map(|r| (r.width, r.mime.as_str(), r.size)).collect();
        let size = |width: i64, mime: &str| format!("a {width} {mime}").len() as i64;
        assert_eq!(
            shape,
            vec![
                (320, "image/jpeg", size(320, "image/jpeg")),
                (320, "image/webp", size(320, "image/webp")),
                (640, "image/webp", size(640, "image/webp")),
            ]
        );
        let ratios: Vec<(Ratio, i64)> = crops[&a.id].iter().map(|r| (r.ratio, r.width)).collect();
        assert_eq!(ratios, vec![(Ratio::Wide, 320), (Ratio::Wide, 640), (Ratio::Square, 640)]);
        assert!(!plain.contains_key(&bare.id) && !crops.contains_key(&bare.id));

        // The story page reads its photo's copies and crops in the story's own query.
        let edition = db.store.upsert_edition(&edition()).await.expect("edition");
        for (photo_id, expected) in [
            (Some(a.id), (plain[&a.id].clone(), crops[&a.id].clone())),
            (Some(b.id), (plain[&b.id].clone(), crops[&b.id].clone())),
            (Some(bare.id), (Vec::new(), Vec::new())),
            (None, (Vec::new(), Vec::new())),
        ] {
            let input = StoryInput { photo_id, ..crate::published(edition.id, "World", "Shown") };
            let (news_id, ..) = db.store.save_story(&input).await.expect("story");
            let (_, facts) = db.store.reads().await.expect("reads").story_for_page(news_id, 5).await.expect("read").expect("found");
            assert_eq!(facts.photo_renditions, expected, "photo {photo_id:?}");
        }

        let (plain, crops) = db.store.photo_all_renditions_of(&[]).await.expect("none");
        assert!(plain.is_empty() && crops.is_empty());
    }
}

/// The copies and crops a story page shows for `news_id` (read through
/// `store`) and those its photo `photo_id` has in the tables, as
/// `photo_all_renditions_of` reads them.
async fn shown_and_stored(
    store: &newsdesk_storage::Store,
    news_id: i64,
    photo_id: i64,
) -> (
    (Vec<newsdesk_storage::Rendition>, Vec<newsdesk_storage::CropRendition>),
    (Vec<newsdesk_storage::Rendition>, Vec<newsdesk_storage::CropRendition>),
) {
    let (_, facts) =
        store.reads().await.expect("reads").story_for_page(news_id, 5).await.expect("read").expect("found");
    let (mut plain, mut crops) = store.photo_all_renditions_of(&[photo_id]).await.expect("tables");
    (facts.photo_renditions, (plain.remove(&photo_id).unwrap_or_default(), crops.remove(&photo_id).unwrap_or_default()))
}

fn copy(tag: &str, width: i64, mime: &str) -> NewRendition {
    let bytes = format!("{tag} {width} {mime}").into_bytes();
    NewRendition { sha256: sha(&bytes), mime: mime.into(), width, height: width / 2, bytes }
}

backend_test! {
    /// A story page reads its photo's copies and crops from the list kept in
    /// the photo's row (migration 39): every way they are written, through the
    /// store or straight in SQL, leaves that list equal to the tables.
    async fn the_list_in_a_photos_row_follows_every_write_to_its_copies_and_crops(db) {
        let edition = db.store.upsert_edition(&edition()).await.expect("edition");
        let shown = db.store.add_photo(&photo(b"listed"), &[copy("a", 640, "image/webp"), copy("a", 320, "image/jpeg")], &upload())
            .await
            .expect("photo");
        let other = db.store.add_photo(&photo(b"beside"), &[copy("b", 320, "image/webp")], &upload()).await.expect("other");
        let (news_id, ..) = db.store
            .save_story(&StoryInput { photo_id: Some(shown.id), ..crate::published(edition.id, "World", "Listed") })
            .await
            .expect("story");
        let (other_story, ..) = db.store
            .save_story(&StoryInput { photo_id: Some(other.id), ..crate::published(edition.id, "World", "Beside") })
            .await
            .expect("story");
        let (page, tables) = shown_and_stored(&db.store, news_id, shown.id).await;
        assert_eq!(page, tables, "copies stored with the photo");
        assert_eq!(page.0.iter().map(|r| (r.width, r.mime.as_str())).collect::<Vec<_>>(), vec![(320, "image/jpeg"), (640, "image/webp")]);
        let (other_page, _) = shown_and_stored(&db.store, other_story, other.id).await;

        db.store
            .add_crop_renditions(shown.id, &[crop(Ratio::Square, b"sq", "image/webp", 320), crop(Ratio::Wide, b"w", "image/jpeg", 640)])
            .await
            .expect("crops");
        let (page, tables) = shown_and_stored(&db.store, news_id, shown.id).await;
        assert_eq!(page, tables, "crops added");
        assert_eq!(page.1.iter().map(|r| r.ratio).collect::<Vec<_>>(), vec![Ratio::Wide, Ratio::Square]);

        db.store.add_renditions(shown.id, &[copy("a", 1024, "image/jpeg")]).await.expect("more copies");
        let (page, tables) = shown_and_stored(&db.store, news_id, shown.id).await;
        assert_eq!(page, tables, "copies added");
        assert_eq!(page.0.len(), 3);

        let audit = AuditEntry::system("test", "media.framing", "photo", shown.id.to_string(), "");
        let framing = Framing { focus: Focus { x: 0.3, y: 0.3 }, crops: Vec::new() };
        db.store
            .set_photo_framing(shown.id, &framing, &[crop(Ratio::Standard, b"4:3", "image/jpeg", 480)], &audit)
            .await
            .expect("framed")
            .expect("exists");
        let (page, tables) = shown_and_stored(&db.store, news_id, shown.id).await;
        assert_eq!(page, tables, "crops replaced by a new framing");
        assert_eq!(page.1.iter().map(|r| r.ratio).collect::<Vec<_>>(), vec![Ratio::Standard]);

        // Written straight in SQL (a repair, a future code path): the triggers keep the list.
        let pool = sqlx::AnyPool::connect(&db.url).await.expect("raw pool");
        sqlx::query("UPDATE photo_renditions SET width = width + 1 WHERE photo_id = $1 AND width = 1024")
            .bind(shown.id)
            .execute(&pool)
            .await
            .expect("update a copy");
        let (page, tables) = shown_and_stored(&db.store, news_id, shown.id).await;
        assert_eq!(page, tables, "a copy changed");
        assert!(page.0.iter().any(|r| r.width == 1025));
        sqlx::query("UPDATE photo_crop_renditions SET width = width + 1 WHERE photo_id = $1").bind(shown.id).execute(&pool).await.expect("update a crop");
        let (page, tables) = shown_and_stored(&db.store, news_id, shown.id).await;
        assert_eq!(page, tables, "a crop changed");
        assert_eq!(page.1.iter().map(|r| r.width).collect::<Vec<_>>(), vec![481]);
        sqlx::query("DELETE FROM photo_crop_renditions WHERE photo_id = $1").bind(shown.id).execute(&pool).await.expect("delete");
        let (page, tables) = shown_and_stored(&db.store, news_id, shown.id).await;
        assert_eq!(page, tables, "crops deleted");
        assert!(page.1.is_empty() && page.0.len() == 3);
        sqlx::query("DELETE FROM photo_renditions WHERE photo_id = $1 AND width = 320").bind(shown.id).execute(&pool).await.expect("delete");
        let (page, tables) = shown_and_stored(&db.store, news_id, shown.id).await;
        assert_eq!(page, tables, "a copy deleted");
        assert_eq!(page.0.len(), 2);

        // The other photo's list was never touched.
        assert_eq!(shown_and_stored(&db.store, other_story, other.id).await.0, other_page);
        // A photo deleted with its copies (the copies' triggers find no row to update).
        let unused = db.store.add_photo(&photo(b"unused"), &[copy("c", 320, "image/jpeg")], &upload()).await.expect("unused");
        sqlx::query("DELETE FROM photos WHERE id = $1").bind(unused.id).execute(&pool).await.expect("photo deleted");
        assert!(db.store.photo_renditions(unused.id).await.expect("copies").is_empty());
        pool.close().await;
    }
}

backend_test! {
    /// Pages read on one node while another node frames the photo again and
    /// again: each page shows one whole set of crops (the list and the crops
    /// change in one transaction), and once the framing stops, the last one.
    async fn pages_on_one_node_show_whole_sets_of_crops_while_another_node_reframes_the_photo(db) {
        let edition = db.store.upsert_edition(&edition()).await.expect("edition");
        let stored = db.store.add_photo(&photo(b"reframed"), &[copy("r", 320, "image/jpeg")], &upload()).await.expect("photo");
        let (news_id, ..) = db.store
            .save_story(&StoryInput { photo_id: Some(stored.id), ..crate::published(edition.id, "World", "Reframed") })
            .await
            .expect("story");
        let other = newsdesk_storage::Store::connect(&db.url).await.expect("second node");
        const FRAMINGS: usize = 12;
        let set = |k: usize| -> Vec<NewCropRendition> {
            [(Ratio::Wide, 320, "image/jpeg"), (Ratio::Wide, 640, "image/webp"), (Ratio::Square, 320, "image/jpeg")]
                .into_iter()
                .map(|(ratio, width, mime)| crop(ratio, format!("framing {k} {ratio:?} {width}").as_bytes(), mime, width))
                .collect()
        };
        let sets: Vec<std::collections::BTreeSet<String>> =
            (0..FRAMINGS).map(|k| set(k).iter().map(|c| c.rendition.sha256.clone()).collect()).collect();
        let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let mut readers = Vec::new();
        for _ in 0..3 {
            let (store, done, sets) = (db.store.clone(), done.clone(), sets.clone());
            readers.push(tokio::spawn(async move {
                let mut pages = 0;
                loop {
                    let finished = done.load(std::sync::atomic::Ordering::SeqCst);
                    let (_, facts) = store.reads().await.expect("reads").story_for_page(news_id, 5).await.expect("read").expect("found");
                    let shas: std::collections::BTreeSet<String> = facts.photo_renditions.1.iter().map(|c| c.sha256.clone()).collect();
                    assert!(shas.is_empty() || sets.contains(&shas), "a page showed a mix of framings: {shas:?}");
                    assert_eq!(facts.photo_renditions.0.len(), 1, "the copy is always there");
                    pages += 1;
                    if finished {
                        return (pages, shas);
                    }
                    tokio::task::yield_now().await;
                }
            }));
        }
        let audit = AuditEntry::system("test", "media.framing", "photo", stored.id.to_string(), "");
        for k in 0..FRAMINGS {
            let framing = Framing { focus: Focus { x: 0.1, y: 0.1 * k as f64 / FRAMINGS as f64 }, crops: Vec::new() };
            other.set_photo_framing(stored.id, &framing, &set(k), &audit).await.expect("framed").expect("exists");
        }
        done.store(true, std::sync::atomic::Ordering::SeqCst);
        for reader in readers {
            let (pages, last) = reader.await.expect("reader");
            assert!(pages > 1, "the reader read while the framings were made");
            assert_eq!(last, sets[FRAMINGS - 1], "after the last framing, the page shows it");
        }
        other.close().await;
    }
}
