use chrono::Duration;

use super::*;
use crate::backend_test;
use newsdesk_domain::ingest::parse;

fn input(name: &str) -> InboundSourceInput {
    InboundSourceInput {
        name: name.into(),
        kind: "http".into(),
        format: "feed".into(),
        location: "https://wire.example/feed.xml".into(),
        api_key: Some("k1".into()),
        interval_secs: 60,
        enabled: true,
    }
}

fn audit(action: &str) -> AuditEntry {
    AuditEntry::system("test", action, "ingest_source", "", "")
}

backend_test!(
    async fn a_source_is_made_polled_backed_off_and_its_errors_kept(db) {
        let s = db.store.create_inbound_source(&input("Wire"), &audit("ingest.source.create")).await.expect("create");
        assert_eq!((s.name.as_str(), s.api_key.as_str(), s.interval_secs, s.enabled), ("Wire", "k1", 60, true));
        let again = db.store.create_inbound_source(&input("Wire"), &audit("ingest.source.create")).await;
        assert!(matches!(again, Err(StoreError::Conflict { field: "name" })), "{again:?}");
        let short = InboundSourceInput { interval_secs: 29, ..input("Short") };
        assert!(matches!(db.store.create_inbound_source(&short, &audit("x")).await, Err(StoreError::Invalid(_))));
        let t0 = Utc::now();
        assert_eq!(db.store.due_inbound_sources(t0).await.expect("due").len(), 1, "a new source is due at once");

        db.store.record_source_success(s.id, t0, 3, Some(("\"v1\"", "Thu, 03 Dec 2026 10:00:00 GMT"))).await.expect("ok");
        let s1 = db.store.inbound_source(s.id).await.expect("load").expect("there");
        assert_eq!((s1.etag.as_str(), s1.items_total, s1.failures), ("\"v1\"", 3, 0));
        assert_eq!(s1.next_poll_at.timestamp(), t0.timestamp() + 60);
        assert!(db.store.due_inbound_sources(t0 + Duration::seconds(59)).await.expect("due").is_empty());
        assert_eq!(db.store.due_inbound_sources(t0 + Duration::seconds(60)).await.expect("due").len(), 1);

        // A failed poll: an error entry, a failure counted, the backoff set; a 304 later keeps the validators.
        let retry = t0 + Duration::seconds(120);
        db.store.record_source_error(s.id, t0, "https://wire.example/feed.xml", "HTTP 500", Some(retry)).await.expect("err");
        let s2 = db.store.inbound_source(s.id).await.expect("load").expect("there");
        assert_eq!((s2.failures, s2.errors_total, s2.next_poll_at.timestamp()), (1, 1, retry.timestamp()));
        assert_eq!(s2.last_error, "https://wire.example/feed.xml: HTTP 500");
        db.store.record_source_success(s.id, retry, 0, None).await.expect("ok");
        let s3 = db.store.inbound_source(s.id).await.expect("load").expect("there");
        assert_eq!((s3.failures, s3.etag.as_str(), s3.errors_total), (0, "\"v1\"", 1));

        // The list keeps the newest entries only.
        for i in 0..(SOURCE_ERRORS_KEPT + 5) {
            db.store.record_source_error(s.id, t0, &format!("f{i}.xml:1:1"), "bad", None).await.expect("err");
        }
        let errors = db.store.source_errors(s.id, 1000).await.expect("errors");
        assert_eq!(errors.len() as i64, SOURCE_ERRORS_KEPT);
        assert_eq!(errors[0].place, format!("f{}.xml:1:1", SOURCE_ERRORS_KEPT + 4), "newest first");

        // Poll now makes it due; editing keeps the key unless a new one is given.
        db.store.poll_inbound_source_now(s.id, &audit("ingest.source.poll")).await.expect("poll now");
        assert_eq!(db.store.due_inbound_sources(t0).await.expect("due").len(), 1);
        let edit = InboundSourceInput { api_key: None, interval_secs: 300, ..input("Wire") };
        db.store.update_inbound_source(s.id, &edit, &audit("ingest.source.update")).await.expect("update");
        let s4 = db.store.inbound_source(s.id).await.expect("load").expect("there");
        assert_eq!((s4.api_key.as_str(), s4.interval_secs, s4.etag.as_str()), ("k1", 300, "\"v1\""));
        let moved = InboundSourceInput { location: "https://other.example/feed".into(), ..edit };
        db.store.update_inbound_source(s.id, &moved, &audit("ingest.source.update")).await.expect("update");
        let s5 = db.store.inbound_source(s.id).await.expect("load").expect("there");
        assert_eq!(s5.etag, "", "a new URL forgets the old validators");

        let log = db.store.audit_log(Some(("ingest_source", &s.id.to_string())), 50).await.expect("audit");
        let actions: Vec<&str> = log.iter().map(|e| e.action.as_str()).collect();
        assert!(actions.contains(&"ingest.source.create") && actions.contains(&"ingest.source.poll"), "{actions:?}");
        db.store.delete_inbound_source(s.id, &audit("ingest.source.delete")).await.expect("delete");
        assert!(db.store.inbound_sources().await.expect("list").is_empty());
        assert!(db.store.source_errors(s.id, 10).await.expect("errors").is_empty());
    }
);

backend_test!(
    async fn config_sources_are_upserted_by_name_and_read_only(db) {
        let a = audit("ingest.source.config");
        db.store.sync_config_sources(&[input("Cfg")], &a).await.expect("sync");
        let s = db.store.inbound_sources().await.expect("list").remove(0);
        assert!(s.from_config);
        let edit = db.store.update_inbound_source(s.id, &input("Cfg"), &audit("ingest.source.update")).await;
        assert!(matches!(edit, Err(StoreError::Invalid(ref m)) if m.contains("config file")), "{edit:?}");
        // Again with a new interval: the same row, updated; its polling state kept.
        db.store.record_source_success(s.id, Utc::now(), 2, Some(("e", ""))).await.expect("ok");
        db.store.sync_config_sources(&[InboundSourceInput { interval_secs: 90, ..input("Cfg") }], &a).await.expect("sync");
        let again = db.store.inbound_sources().await.expect("list");
        assert_eq!(again.len(), 1);
        assert_eq!((again[0].id, again[0].interval_secs, again[0].items_total, again[0].etag.as_str()), (s.id, 90, 2, "e"));
        // Dropped from the file: kept, editable.
        db.store.sync_config_sources(&[], &a).await.expect("sync");
        let kept = db.store.inbound_source(s.id).await.expect("load").expect("kept");
        assert!(!kept.from_config);
        db.store.update_inbound_source(s.id, &input("Cfg"), &audit("ingest.source.update")).await.expect("editable now");
    }
);

backend_test!(
    async fn items_today_counts_the_sources_items(db) {
        let doc = parse(include_bytes!("../../../newsdesk/tests/fixtures/ingest/feeds/rss2.xml")).expect("feed");
        let items: Vec<_> = doc.items.into_iter().map(|i| i.expect("item")).collect();
        db.store.ingest_items("Wire", &items).await.expect("store");
        let today = Utc::now() - Duration::hours(1);
        assert_eq!(db.store.source_items_since("Wire", today).await.expect("count"), 2);
        assert_eq!(db.store.source_items_since("Other", today).await.expect("count"), 0);
    }
);
