//! The wire's storage: subscribers and keys, rate limits and usage, leases,
//! the dispatch cursor and the outbox, on SQLite and on PostgreSQL.

use chrono::{Duration, TimeZone, Utc};
use newsdesk_storage::{
    DeliveryAttempt, NewSubscriber, NewWireEvent, RateDecision, SentState, Store, StoreError, WireMark, backend_test,
    hash_key,
};
use sqlx::Row;

async fn subscriber(store: &Store, name: &str, sections: &[&str], rate_limit: i64) -> i64 {
    store
        .add_subscriber(
            &NewSubscriber {
                name: name.into(),
                sections: sections.iter().map(|s| s.to_string()).collect(),
                editions: vec![],
                rate_limit,
            },
            &newsdesk_storage::AuditEntry::system("test", "subscriber.create", "subscriber", "", ""),
        )
        .await
        .expect("subscriber")
        .id
}

fn event(id: &str, change_id: i64, news_id: i64, version: i64, webhooks: &[i64]) -> NewWireEvent {
    NewWireEvent {
        event_id: id.into(),
        change_id,
        kind: "publish".into(),
        news_id,
        state: SentState { status: "published".into(), version, updated_at: None },
        payload: format!("{{\"id\":\"{id}\"}}"),
        occurred_at: Utc::now() - Duration::seconds(1),
        webhook_ids: webhooks.to_vec(),
    }
}

fn failed(at: chrono::DateTime<Utc>) -> DeliveryAttempt {
    DeliveryAttempt {
        status: Some(500),
        error: Some("receiver answered 500".into()),
        duration_ms: 3,
        delivered: false,
        next_attempt_at: at,
    }
}

fn delivered() -> DeliveryAttempt {
    DeliveryAttempt { status: Some(204), error: None, duration_ms: 2, delivered: true, next_attempt_at: Utc::now() }
}

backend_test! {
    async fn keys_are_stored_hashed_and_authenticate_until_revoked(db) {
        let id = subscriber(&db.store, "Daily Planet", &["iran"], 60).await;
        let (key, info) = db.store.create_api_key(id, &newsdesk_storage::AuditEntry::system("test", "subscriber.key", "subscriber", "", "")).await.expect("key");
        assert!(key.starts_with("nd_") && key.len() == 3 + 64, "{key}");
        assert!(key.starts_with(&info.prefix) && info.prefix.len() == 11);

        // Only the hash is in the database.
        let pool = sqlx::AnyPool::connect(&db.url).await.expect("raw pool");
        let rows = sqlx::query("SELECT key_hash, prefix FROM api_keys").fetch_all(&pool).await.expect("rows");
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].get::<String, _>("key_hash"), hash_key(&key));
        assert_ne!(rows[0].get::<String, _>("key_hash"), key);
        pool.close().await;

        let (s, key_id) = db.store.authenticate_key(&key).await.expect("auth").expect("known key");
        assert_eq!((s.name.as_str(), s.sections.as_slice(), key_id), ("Daily Planet", &["iran".to_string()][..], info.id));
        assert!(db.store.authenticate_key("nd_0000").await.expect("auth").is_none());
        assert!(db.store.authenticate_key(&key[3..]).await.expect("auth").is_none());

        let dup = db.store.add_subscriber(&NewSubscriber {
            name: "Daily Planet".into(), sections: vec![], editions: vec![], rate_limit: 1,
        }, &newsdesk_storage::AuditEntry::system("test", "subscriber.create", "subscriber", "", "")).await;
        assert!(matches!(dup, Err(StoreError::Conflict { field: "name" })), "{dup:?}");

        assert!(db.store.revoke_subscriber("Daily Planet", &newsdesk_storage::AuditEntry::system("test", "subscriber.revoke", "subscriber", "", "")).await.expect("revoke"));
        assert!(!db.store.revoke_subscriber("Nobody", &newsdesk_storage::AuditEntry::system("test", "subscriber.revoke", "subscriber", "", "")).await.expect("revoke"));
        assert!(db.store.authenticate_key(&key).await.expect("auth").is_none());
        assert!(db.store.api_keys(id).await.expect("keys")[0].revoked_at.is_some());
    }
}

backend_test! {
    async fn rate_limit_counts_per_key_and_minute_and_usage_per_hour(db) {
        let id = subscriber(&db.store, "Wire Client", &[], 3).await;
        let (_, key) = db.store.create_api_key(id, &newsdesk_storage::AuditEntry::system("test", "subscriber.key", "subscriber", "", "")).await.expect("key");
        let (_, other) = db.store.create_api_key(id, &newsdesk_storage::AuditEntry::system("test", "subscriber.key", "subscriber", "", "")).await.expect("second key");
        let t = Utc.with_ymd_and_hms(2024, 7, 22, 14, 38, 15).single().expect("time");
        for remaining in [2, 1, 0] {
            assert_eq!(db.store.count_request(key.id, 3, t).await.expect("count"), RateDecision::Allowed { remaining });
        }
        assert_eq!(db.store.count_request(key.id, 3, t).await.expect("count"), RateDecision::Limited { retry_after: 45 });
        // Another key has its own budget; the next minute starts afresh.
        assert_eq!(db.store.count_request(other.id, 3, t).await.expect("count"), RateDecision::Allowed { remaining: 2 });
        let next = t + Duration::seconds(50);
        assert_eq!(db.store.count_request(key.id, 3, next).await.expect("count"), RateDecision::Allowed { remaining: 2 });

        let usage = db.store.api_usage(key.id, 10).await.expect("usage");
        assert_eq!(usage, vec![(Utc.with_ymd_and_hms(2024, 7, 22, 14, 0, 0).single().expect("hour"), 5)]);
        let keys = db.store.api_keys(id).await.expect("keys");
        assert_eq!(keys[0].last_used_at, Some(next));
    }
}

backend_test! {
    async fn a_lease_has_one_holder_until_released_or_expired(db) {
        assert!(db.store.try_lease("webhooks", "a", 30).await.expect("lease"));
        assert!(!db.store.try_lease("webhooks", "b", 30).await.expect("lease"));
        assert!(db.store.try_lease("webhooks", "a", 30).await.expect("renew"));
        db.store.release_lease("webhooks", "b").await.expect("not b's to release");
        assert!(!db.store.try_lease("webhooks", "b", 30).await.expect("lease"));
        db.store.release_lease("webhooks", "a").await.expect("release");
        assert!(db.store.try_lease("webhooks", "b", -1).await.expect("lease"));
        // b's lease has expired (ttl -1): a takes over.
        assert!(db.store.try_lease("webhooks", "a", 30).await.expect("take over"));
    }
}

backend_test! {
    async fn a_change_makes_one_event_however_often_it_is_dispatched(db) {
        let start = db.store.wire_cursor().await.expect("cursor");
        assert_eq!(start, 0);
        let id = subscriber(&db.store, "S", &[], 60).await;
        let hook = db.store.add_webhook(id, "http://127.0.0.1:9/hook", &newsdesk_storage::AuditEntry::system("test", "subscriber.webhook", "subscriber", "", "")).await.expect("webhook");
        assert!(hook.secret.starts_with("whsec_"));
        for bad in ["ftp://example.com/", "https:///path", "http://exa mple.com/", "example.com"] {
            assert!(matches!(db.store.add_webhook(id, bad, &newsdesk_storage::AuditEntry::system("test", "subscriber.webhook", "subscriber", "", "")).await, Err(StoreError::Invalid(_))), "{bad}");
        }
        let mark = |change_id: i64, version: i64| {
            (7, WireMark { change_id, state: SentState { status: "published".into(), version, updated_at: None } })
        };
        let added = db.store.commit_wire_events(&[mark(5, 1)], &[event("evt_a", 5, 7, 1, &[hook.id])]).await;
        assert_eq!(added.expect("commit"), 1);
        // A second dispatcher of the same change (a failover) adds nothing, not even outbox rows.
        let added = db.store.commit_wire_events(&[mark(5, 1)], &[event("evt_b", 5, 7, 1, &[hook.id])]).await;
        assert_eq!(added.expect("commit"), 0);
        // A story's mark never moves back.
        assert_eq!(db.store.commit_wire_events(&[mark(4, 0)], &[]).await.expect("commit"), 0);
        let sent = db.store.wire_sent(&[7, 8]).await.expect("sent");
        assert_eq!(sent.len(), 1);
        assert_eq!((sent[&7].change_id, sent[&7].state.version), (5, 1));
        // Nor does the cursor.
        db.store.advance_wire_cursor(5).await.expect("advance");
        db.store.advance_wire_cursor(3).await.expect("advance");
        assert_eq!(db.store.wire_cursor().await.expect("cursor"), 5);
        let due = db.store.due_deliveries(Utc::now(), 10).await.expect("due");
        assert_eq!(due.iter().map(|d| d.event_id.as_str()).collect::<Vec<_>>(), ["evt_a"]);
        assert_eq!((due[0].change_id, due[0].subscriber.as_str()), (Some(5), "S"));
    }
}

backend_test! {
    async fn a_batch_of_marks_moves_each_story_forward_only(db) {
        let mark = |news_id: i64, change_id: i64, status: &str, updated_at: Option<i64>| {
            (news_id, WireMark { change_id, state: SentState { status: status.into(), version: change_id, updated_at } })
        };
        // More stories than one statement takes (6,000 rows of five values).
        let first: Vec<(i64, WireMark)> = (1..=7_000).map(|n| mark(n, 10 * n, "published", Some(n))).collect();
        assert_eq!(db.store.commit_wire_events(&first, &[]).await.expect("commit"), 0);
        let ids: Vec<i64> = (1..=7_000).collect();
        let sent = db.store.wire_sent(&ids).await.expect("sent");
        assert_eq!(sent.len(), 7_000);
        assert_eq!((sent[&6_999].change_id, sent[&6_999].state.updated_at), (69_990, Some(6_999)));
        // Newer for story 1, older for 2 (kept as stored), two marks for 3
        // and for 4 (the newer counts, whichever comes first), a new story 8,000.
        let second = vec![
            mark(1, 11, "killed", None),
            mark(2, 19, "unpublished", None),
            mark(3, 35, "killed", None),
            mark(3, 31, "unpublished", None),
            mark(4, 41, "unpublished", None),
            mark(4, 45, "killed", Some(9)),
            mark(8_000, 5, "embargoed", None),
        ];
        db.store.commit_wire_events(&second, &[]).await.expect("commit");
        let sent = db.store.wire_sent(&[1, 2, 3, 4, 5, 8_000]).await.expect("sent");
        let got = |n: i64| (sent[&n].change_id, sent[&n].state.status.as_str(), sent[&n].state.updated_at);
        assert_eq!(got(1), (11, "killed", None));
        assert_eq!(got(2), (20, "published", Some(2)));
        assert_eq!(got(3), (35, "killed", None));
        assert_eq!(got(4), (45, "killed", Some(9)));
        assert_eq!(got(5), (50, "published", Some(5)));
        assert_eq!(got(8_000), (5, "embargoed", None));
    }
}

backend_test! {
    async fn two_dispatchers_recording_the_same_stories_at_once_both_commit(db) {
        // A failover: the node that lost the lease and the one that took it
        // record marks for the same stories in one moment, handed over in
        // opposite orders. Both commit (rows are locked in News ID order, so
        // neither waits for the other in a cycle), and each story keeps its newest mark.
        let marks = |bump: i64, descending: bool| {
            let mut m: Vec<(i64, WireMark)> = (1..=3_000)
                .map(|n| {
                    let change_id = 10 * n + if n % 2 == 0 { bump } else { -bump };
                    (n, WireMark { change_id, state: SentState { status: "published".into(), version: 1, updated_at: None } })
                })
                .collect();
            if descending {
                m.reverse();
            }
            m
        };
        // The second node: a store of its own on the same database.
        let other = Store::connect(&db.url).await.expect("second node");
        for round in 0..3 {
            let (a, b) = (marks(round + 1, false), marks(-(round + 1), true));
            let (ra, rb) = tokio::join!(db.store.commit_wire_events(&a, &[]), other.commit_wire_events(&b, &[]));
            ra.expect("first dispatcher");
            rb.expect("second dispatcher");
            let ids: Vec<i64> = (1..=3_000).collect();
            let sent = db.store.wire_sent(&ids).await.expect("sent");
            for n in [1, 2, 1_499, 3_000] {
                assert_eq!(sent[&n].change_id, 10 * n + round + 1, "story {n}, round {round}");
            }
        }
    }
}

backend_test! {
    async fn outbox_delivers_in_order_per_webhook_and_story_with_retries(db) {
        db.store.wire_cursor().await.expect("cursor");
        let s = subscriber(&db.store, "S", &[], 60).await;
        let h1 = db.store.add_webhook(s, "http://127.0.0.1:9/one", &newsdesk_storage::AuditEntry::system("test", "subscriber.webhook", "subscriber", "", "")).await.expect("webhook").id;
        let h2 = db.store.add_webhook(s, "http://127.0.0.1:9/two", &newsdesk_storage::AuditEntry::system("test", "subscriber.webhook", "subscriber", "", "")).await.expect("webhook").id;
        let events = [
            event("evt_1", 1, 100, 1, &[h1, h2]),
            event("evt_2", 2, 200, 1, &[h1]),
            event("evt_3", 3, 100, 2, &[h1, h2]),
        ];
        assert_eq!(db.store.commit_wire_events(&[], &events).await.expect("commit"), 3);
        let ids = |d: &[newsdesk_storage::DueDelivery]| {
            d.iter().map(|d| (d.webhook_id, d.event_id.clone())).collect::<Vec<_>>()
        };
        let now = Utc::now();
        let due = db.store.due_deliveries(now, 10).await.expect("due");
        // evt_3 waits for evt_1 of the same story on each webhook.
        assert_eq!(ids(&due), [(h1, "evt_1".into()), (h2, "evt_1".into()), (h1, "evt_2".into())]);

        // evt_1 fails on h1: it is retried later, and evt_3 still waits behind it.
        db.store.record_delivery(due[0].outbox_id, &failed(now + Duration::seconds(60))).await.expect("record");
        db.store.record_delivery(due[1].outbox_id, &delivered()).await.expect("record");
        db.store.record_delivery(due[2].outbox_id, &delivered()).await.expect("record");
        let due = db.store.due_deliveries(now, 10).await.expect("due");
        assert_eq!(ids(&due), [(h2, "evt_3".into())]);
        let later = db.store.due_deliveries(now + Duration::seconds(61), 10).await.expect("due");
        assert_eq!(ids(&later), [(h1, "evt_1".into()), (h2, "evt_3".into())]);
        assert_eq!(later[0].attempts, 1);

        db.store.record_delivery(later[0].outbox_id, &delivered()).await.expect("record");
        // A delivered row is never delivered again, even if recorded twice.
        db.store.record_delivery(later[0].outbox_id, &failed(now)).await.expect("record");
        let due = db.store.due_deliveries(now + Duration::seconds(61), 10).await.expect("due");
        assert_eq!(ids(&due), [(h1, "evt_3".into()), (h2, "evt_3".into())]);

        let log = db.store.outbox_of(s, 10).await.expect("log");
        let first = log.iter().find(|e| e.webhook_id == h1 && e.event_id == "evt_1").expect("evt_1 on h1");
        assert_eq!((first.attempts, first.last_status), (2, Some(204)));
        assert!(first.delivered_at.is_some());

        // A revoked subscriber's rows are not sent.
        db.store.revoke_subscriber("S", &newsdesk_storage::AuditEntry::system("test", "subscriber.revoke", "subscriber", "", "")).await.expect("revoke");
        assert!(db.store.due_deliveries(now + Duration::seconds(61), 10).await.expect("due").is_empty());
    }
}

backend_test! {
    async fn pruning_keeps_what_is_still_to_deliver(db) {
        db.store.wire_cursor().await.expect("cursor");
        let s = subscriber(&db.store, "S", &[], 60).await;
        let h = db.store.add_webhook(s, "http://127.0.0.1:9/one", &newsdesk_storage::AuditEntry::system("test", "subscriber.webhook", "subscriber", "", "")).await.expect("webhook").id;
        let events = [event("evt_1", 1, 100, 1, &[h]), event("evt_2", 2, 200, 1, &[h])];
        assert_eq!(db.store.commit_wire_events(&[], &events).await.expect("commit"), 2);
        let due = db.store.due_deliveries(Utc::now(), 10).await.expect("due");
        db.store.record_delivery(due[0].outbox_id, &delivered()).await.expect("record");
        // Nothing is old enough yet.
        assert_eq!(db.store.prune_wire(Utc::now() - Duration::days(30)).await.expect("prune"), 0);
        // Later: the delivered row goes, the pending one stays.
        assert_eq!(db.store.prune_wire(Utc::now() + Duration::days(1)).await.expect("prune"), 1);
        let log = db.store.outbox_of(s, 10).await.expect("log");
        assert_eq!(log.iter().map(|e| e.event_id.as_str()).collect::<Vec<_>>(), ["evt_2"]);
        assert_eq!(db.store.due_deliveries(Utc::now(), 10).await.expect("due").len(), 1);
    }
}
