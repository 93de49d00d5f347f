//! View buckets for "most visited", on SQLite and on PostgreSQL.

use chrono::{Duration, TimeZone, Utc};
use newsdesk_domain::{Direction, StoryStatus};
use newsdesk_storage::testing::TestDb;
use newsdesk_storage::{NewEdition, SectionRef, StoryInput, ViewBucket, backend_test, hour_of};

use crate::published;

async fn site(db: &TestDb) -> (i64, Vec<(i64, i64)>) {
    let e = db
        .store
        .upsert_edition(&NewEdition {
            lang: "en".into(),
            name: "A".into(),
            direction: Direction::Ltr,
            time_zone: chrono_tz::UTC,
            is_default: true,
        })
        .await
        .expect("edition")
        .id;
    let mut ids = Vec::new();
    for (i, sections) in [vec!["Iran"], vec!["Iran", "Defense"], vec!["World"]].into_iter().enumerate() {
        let (id, _) = db
            .store
            .save_story(&StoryInput {
                section: SectionRef::Names(sections.into_iter().map(String::from).collect()),
                published_at: Some(Utc::now() - Duration::days(40)),
                ..published(e, "", &format!("Story {i}"))
            })
            .await
            .expect("story");
        let section_id = db.store.story(id).await.expect("load").expect("exists").section_id;
        ids.push((id, section_id));
    }
    (e, ids)
}

backend_test! {
    async fn views_from_several_nodes_add_up_within_exact_windows(db) {
        let (e, ids) = site(&db).await;
        let now = Utc.with_ymd_and_hms(2026, 11, 27, 12, 30, 0).single().expect("time");
        let b = |i: usize, hours_ago: i64, views: i64| ViewBucket {
            news_id: ids[i].0, edition_id: e, section_id: ids[i].1, hour: hour_of(now - Duration::hours(hours_ago)), views,
        };
        // Two nodes flush into the same bucket.
        db.store.add_views(&[b(0, 1, 3), b(1, 2, 5), b(2, 30, 50)]).await.expect("node 1");
        db.store.add_views(&[b(0, 1, 4)]).await.expect("node 2");
        let day = db.store.most_visited(e, None, now - Duration::hours(24), 10).await.expect("24h");
        assert_eq!(day.iter().map(|(s, v)| (s.news_id, *v)).collect::<Vec<_>>(), [(ids[0].0, 7), (ids[1].0, 5)]);
        let week = db.store.most_visited(e, None, now - Duration::days(7), 10).await.expect("7d");
        assert_eq!((week[0].0.news_id, week[0].1), (ids[2].0, 50));
        let iran = db.store.most_visited(e, Some("iran"), now - Duration::days(7), 10).await.expect("section");
        assert_eq!(iran.iter().map(|(s, _)| s.news_id).collect::<Vec<_>>(), [ids[0].0, ids[1].0]);
        let defense = db.store.most_visited(e, Some("iran/defense"), now - Duration::days(7), 10).await.expect("child");
        assert_eq!(defense.iter().map(|(s, _)| s.news_id).collect::<Vec<_>>(), [ids[1].0]);
        assert_eq!(db.store.prune_views(now - Duration::hours(24)).await.expect("prune"), 1);
        db.store.set_story_status(ids[0].0, StoryStatus::Unpublished).await.expect("unpublish");
        let day = db.store.most_visited(e, None, now - Duration::days(30), 10).await.expect("after");
        assert_eq!(day.iter().map(|(s, _)| s.news_id).collect::<Vec<_>>(), [ids[1].0], "unpublished stories leave the ranking");
    }
}
