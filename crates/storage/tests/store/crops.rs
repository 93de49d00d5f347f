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

backend_test! {
    async fn framing_a_photo_marks_the_stories_showing_it_changed(db) {
        let stored = db.store.add_photo(&photo(b"shown"), &[], &upload()).await.expect("add");
        let edition = db.store
            .upsert_edition(&NewEdition {
                lang: "en".into(),
                name: "Agency".into(),
                direction: Direction::Ltr,
                time_zone: chrono_tz::Asia::Tehran,
                is_default: true,
            })
            .await
            .expect("edition");
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
