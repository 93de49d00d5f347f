//! Galleries: ordered photos with per-use captions, a story's lead gallery,
//! galleries inside bodies and what a change of a gallery does to the stories
//! showing it, on SQLite and on PostgreSQL.

use crate::edition;
use newsdesk_domain::photo_meta::PhotoDetails;
use newsdesk_domain::{BodyFormat, StoryStatus};
use newsdesk_storage::{
    AuditEntry, GalleryItemInput, NewPhoto, SectionRef, Store, StoreError, StoryInput, backend_test,
};
use sha2::{Digest, Sha256};

fn audit(action: &str, target: &str) -> AuditEntry {
    AuditEntry::system("test", action, "gallery", target, "")
}

async fn photo(store: &Store, bytes: &[u8], caption: &str) -> i64 {
    let p = NewPhoto {
        sha256: hex::encode(Sha256::digest(bytes)),
        mime: "image/jpeg".into(),
        width: 1600,
        height: 900,
        bytes: bytes.to_vec(),
        caption: caption.into(),
        credit: "Library".into(),
        details: PhotoDetails::default(),
    };
    store.add_photo(&p, &[], &AuditEntry::system("test", "media.upload", "photo", "", "")).await.expect("photo").id
}

fn item(photo_id: i64, caption: &str, credit: &str) -> GalleryItemInput {
    GalleryItemInput { photo_id, caption: caption.into(), credit: credit.into() }
}

fn story(edition_id: i64, body: &str, gallery_id: Option<i64>) -> StoryInput {
    StoryInput {
        news_id: None,
        edition_id,
        section: SectionRef::Names(vec!["World".into()]),
        slug: None,
        headline: "Floods in the north".into(),
        lead: "Lead.".into(),
        body_source: body.into(),
        body_format: BodyFormat::Markdown,
        photo_id: None,
        gallery_id,
        status: StoryStatus::Published,
        published_at: Some(chrono::Utc::now()),
        tags: Vec::new(),
        authors: Vec::new(),
        agency: None,
        actor: "test".into(),
    }
}

backend_test! {
    async fn a_gallery_keeps_its_order_and_per_use_captions(db) {
        let a = photo(&db.store, b"one", "Library caption one").await;
        let b = photo(&db.store, b"two", "Library caption two").await;
        let g = db.store
            .create_gallery(" Floods ", &[item(b, "Boats on the square", "Reuters"), item(a, "", "")], &audit("gallery.create", ""))
            .await
            .expect("create");
        assert_eq!((g.title.as_str(), g.version), ("Floods", 1));
        let read = db.store.gallery(g.id).await.expect("read").expect("exists");
        let order: Vec<i64> = read.items.iter().map(|i| i.photo.id).collect();
        assert_eq!(order, [b, a]);
        assert_eq!((read.items[0].shown_caption(), read.items[0].shown_credit()), ("Boats on the square", "Reuters"));
        assert_eq!((read.items[1].shown_caption(), read.items[1].shown_credit()), ("Library caption one", "Library"), "empty: the photo's own");
        let log = db.store.audit_log(Some(("gallery", &g.id.to_string())), 5).await.expect("audit");
        assert_eq!(log.iter().map(|e| e.action.as_str()).collect::<Vec<_>>(), ["gallery.create"]);

        // Reordered (a up), one caption changed.
        let changed = db.store
            .update_gallery(g.id, 1, "Floods", &[item(a, "Rescue", ""), item(b, "Boats on the square", "Reuters")], &audit("gallery.edit", &g.id.to_string()))
            .await
            .expect("update")
            .expect("exists");
        assert_eq!(changed.version, 2);
        assert_eq!(changed.items.iter().map(|i| i.photo.id).collect::<Vec<_>>(), [a, b]);
        assert_eq!(changed.items[0].caption, "Rescue");
        // A change based on the old version is refused, and nothing is written.
        let stale = db.store.update_gallery(g.id, 1, "Other", &[], &audit("gallery.edit", "")).await;
        assert!(matches!(stale, Err(StoreError::Stale { current: 2 })), "{stale:?}");
        assert_eq!(db.store.gallery(g.id).await.expect("read").expect("exists").title, "Floods");
        // An unknown photo is refused; so is an empty title.
        let bad = db.store.create_gallery("Bad", &[item(a, "", ""), item(9_999_999, "", "")], &audit("gallery.create", "")).await;
        assert!(matches!(bad, Err(StoreError::Invalid(_))), "{bad:?}");
        assert!(matches!(db.store.create_gallery("  ", &[], &audit("gallery.create", "")).await, Err(StoreError::Invalid(_))));
        assert_eq!(db.store.galleries(0, 10).await.expect("list").len(), 1, "the refused ones left nothing");
        assert!(db.store.update_gallery(9_999_999, 1, "x", &[], &audit("gallery.edit", "")).await.expect("none").is_none());
    }
}

backend_test! {
    async fn stories_show_galleries_as_lead_and_in_the_body_and_follow_their_changes(db) {
        let ed = edition(&db.store).await;
        let a = photo(&db.store, b"one", "First").await;
        let b = photo(&db.store, b"two", "Second").await;
        let g = db.store.create_gallery("Floods", &[item(a, "Water rising", ""), item(b, "", "")], &audit("gallery.create", "")).await.expect("create");
        let (lead_id, _) = db.store.save_story(&story(ed, "Intro.", Some(g.id))).await.expect("lead story");
        let (body_id, _) = db.store.save_story(&story(ed, &format!("Intro.\n\ngallery:{}\n\nAfter.", g.id), None)).await.expect("body story");
        let (plain_id, _) = db.store.save_story(&story(ed, "No gallery.", None)).await.expect("plain story");

        let lead = db.store.story(lead_id).await.expect("read").expect("exists");
        assert_eq!(lead.gallery_id, Some(g.id));
        let body = db.store.story(body_id).await.expect("read").expect("exists");
        assert!(body.body_html.contains(&format!(r#"id="gallery-body-{}""#, g.id)), "{}", body.body_html);
        assert!(body.body_html.contains("Water rising") && body.body_html.contains("After."), "{}", body.body_html);
        let uses = db.store.gallery_uses(g.id).await.expect("uses");
        assert_eq!(uses.iter().map(|u| (u.news_id, u.lead)).collect::<Vec<_>>(), [(lead_id, true), (body_id, false)]);

        // A body naming a gallery that does not exist is refused.
        let refused = db.store.save_story(&story(ed, "gallery:9999999", None)).await;
        assert!(matches!(refused, Err(StoreError::Invalid(_))), "{refused:?}");
        // So is a lead gallery that does not exist (the database's reference).
        assert!(db.store.save_story(&story(ed, "x", Some(9_999_999))).await.is_err());

        // Changing the gallery re-renders the body, moves both stories' versions and logs their changes.
        let before = db.store.last_change_id().await.expect("head");
        let plain_version = db.store.story(plain_id).await.expect("read").expect("exists").version;
        db.store
            .update_gallery(g.id, 1, "Floods", &[item(b, "Now second first", "AP"), item(a, "Water rising", "")], &audit("gallery.edit", ""))
            .await
            .expect("update")
            .expect("exists");
        let body2 = db.store.story(body_id).await.expect("read").expect("exists");
        assert!(body2.body_html.contains("Now second first"), "{}", body2.body_html);
        assert_eq!(body2.version, body.version + 1);
        assert_eq!(db.store.story(lead_id).await.expect("read").expect("exists").version, lead.version + 1);
        assert_eq!(db.store.story(plain_id).await.expect("read").expect("exists").version, plain_version, "a story without it is left alone");
        let changed: Vec<i64> = db.store.changes_since(before, 100).await.expect("changes").into_iter().map(|(_, id, _)| id).collect();
        assert!(changed.contains(&lead_id) && changed.contains(&body_id) && !changed.contains(&plain_id), "{changed:?}");

        // A story whose body no longer shows it stops following it.
        let mut edit = story(ed, "Gone.", None);
        edit.news_id = Some(body_id);
        db.store.save_story(&edit).await.expect("edit");
        assert_eq!(db.store.gallery_uses(g.id).await.expect("uses").len(), 1);
    }
}

backend_test! {
    async fn a_new_library_caption_reaches_the_bodies_whose_gallery_use_has_none(db) {
        let ed = edition(&db.store).await;
        let a = photo(&db.store, b"one", "Old library caption").await;
        let g = db.store.create_gallery("G", &[item(a, "", "")], &audit("gallery.create", "")).await.expect("create");
        let (id, _) = db.store.save_story(&story(ed, &format!("gallery:{}", g.id), None)).await.expect("story");
        assert!(db.store.story(id).await.expect("read").expect("story").body_html.contains("Old library caption"));
        let before = db.store.last_change_id().await.expect("head");
        db.store
            .update_photo_text(a, "New library caption", "Library", &PhotoDetails::default(), &AuditEntry::system("test", "media.edit", "photo", a, ""))
            .await
            .expect("edit")
            .expect("photo");
        let html = db.store.story(id).await.expect("read").expect("story").body_html;
        assert!(html.contains("New library caption") && !html.contains("Old library caption"), "{html}");
        let changed: Vec<i64> = db.store.changes_since(before, 100).await.expect("changes").into_iter().map(|(_, n, _)| n).collect();
        assert!(changed.contains(&id), "{changed:?}");
    }
}

backend_test! {
    async fn stories_prepared_ahead_are_stored_with_what_their_bodies_name_at_commit(db) {
        // A bulk load renders the next batch outside its transaction; a photo
        // a body names may change before the batch commits.
        let ed = edition(&db.store).await;
        let id = photo(&db.store, b"inline", "Old caption").await;
        let with_photo = story(ed, &format!("Floods.\n\n![](photo:{id})\n\nMore text."), None);
        let plain = story(ed, "Plain body.", None);
        let prepared = db.store.prepare_stories(vec![with_photo.clone(), plain.clone()]).await.expect("prepared");
        assert_eq!(prepared.inputs().len(), 2);
        db.store
            .update_photo_text(id, "New caption", "Library", &PhotoDetails::default(), &audit("media.update", ""))
            .await
            .expect("updated")
            .expect("exists");
        let ids = db.store.create_prepared(&prepared).await.expect("stored");
        assert_eq!(ids.len(), 2);
        assert_eq!(ids[1], ids[0] + 1, "in order, News IDs in sequence");
        let first = db.store.story(ids[0]).await.expect("read").expect("story");
        assert!(first.body_html.contains("New caption") && !first.body_html.contains("Old caption"), "{}", first.body_html);
        // The same as creating them at once now.
        let again = db.store.create_stories(&[with_photo, plain]).await.expect("created");
        for (a, b) in ids.iter().zip(&again) {
            let (a, b) = (db.store.story(*a).await.expect("a").expect("a"), db.store.story(*b).await.expect("b").expect("b"));
            assert_eq!(a.body_html, b.body_html);
        }
        // A body naming a photo that does not exist is refused before anything is stored.
        let count = db.store.story_count().await.expect("count");
        let missing = db.store.prepare_stories(vec![story(ed, "![](photo:987654)", None)]).await;
        assert!(matches!(missing, Err(StoreError::Invalid(ref m)) if m.contains("987654")), "{missing:?}");
        let empty = db.store.prepare_stories(vec![story(ed, "Body.", None)]).await.expect("prepared");
        let mut bad = story(ed, "Body.", None);
        bad.headline = "  ".into();
        assert!(matches!(db.store.prepare_stories(vec![bad]).await, Err(StoreError::Invalid(_))));
        assert_eq!(db.store.story_count().await.expect("count"), count);
        assert_eq!(db.store.create_prepared(&empty).await.expect("stored").len(), 1);
    }
}
