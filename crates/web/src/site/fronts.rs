//! Curated fronts on the reader site: the home page and the first page of a
//! section show the front's curated stories first (the pinned top story,
//! then the featured slots in order) and the newest stories after them,
//! without duplicates. Only published stories of the edition are shown, so a
//! curated story taken down since simply drops out. Pages that show a front
//! depend on [`front_dep`], which a published front drops on every node
//! (through the change log's `front` change).
//!
//! The newsroom's preview renders the real page with a draft arrangement
//! ([`preview`]): such a rendering bypasses the page cache, is marked as a
//! preview and kept out of search engines.

use std::future::Future;

use newsdesk_domain::StorySummary;
use newsdesk_storage::Arrangement;

use crate::{AppError, AppState};

/// A draft arrangement shown in place of the live one of one front.
#[derive(Debug, Clone)]
pub(crate) struct Preview {
    /// The front's edition.
    pub(crate) edition_id: i64,
    /// The front's section (`None`: home).
    pub(crate) section_id: Option<i64>,
    /// The draft.
    pub(crate) arrangement: Arrangement,
}

tokio::task_local! {
    static PREVIEW: Preview;
}

/// Runs `f` (a request to the reader site) with `p` as the front's arrangement.
pub(crate) async fn preview<F: Future>(p: Preview, f: F) -> F::Output {
    PREVIEW.scope(p, f).await
}

/// Whether this rendering is a newsroom preview of a front (not cached, not indexed).
pub(crate) fn previewing() -> bool {
    PREVIEW.try_with(|_| ()).is_ok()
}

/// The cache dependency of an edition's fronts (home and section pages).
pub(crate) fn front_dep(edition_id: i64) -> String {
    format!("front:{edition_id}")
}

/// The curated stories of a front as readers see them (or as the preview
/// shows them), in order: published stories of the edition only.
pub(crate) async fn curated(
    state: &AppState,
    edition_id: i64,
    section_id: Option<i64>,
) -> Result<Vec<StorySummary>, AppError> {
    let draft = PREVIEW
        .try_with(|p| (p.edition_id == edition_id && p.section_id == section_id).then(|| p.arrangement.clone()))
        .ok()
        .flatten();
    let arrangement = match draft {
        Some(a) => a,
        None => state.store.live_front(edition_id, section_id).await?,
    };
    Ok(state.store.front_stories(edition_id, &arrangement).await?)
}

/// The curated stories, then the automatic ones not curated, at most `limit` in all.
pub(crate) fn merge(curated: &[StorySummary], automatic: &[StorySummary], limit: usize) -> Vec<StorySummary> {
    merge_by(curated, automatic, limit, |s| s.news_id)
}

fn merge_by<T: Clone>(curated: &[T], automatic: &[T], limit: usize, id: impl Fn(&T) -> i64) -> Vec<T> {
    let mut out: Vec<T> = curated.iter().take(limit).cloned().collect();
    for s in automatic {
        if out.len() >= limit {
            break;
        }
        if !curated.iter().any(|c| id(c) == id(s)) {
            out.push(s.clone());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn curated_stories_come_first_and_are_not_repeated() {
        assert_eq!(merge_by(&[3, 9], &[10, 9, 8, 3, 7], 4, |x| *x), [3, 9, 10, 8]);
        assert_eq!(merge_by(&[3, 9], &[], 1, |x| *x), [3]);
        assert_eq!(merge_by(&[], &[5, 4], 5, |x| *x), [5, 4]);
    }
}
