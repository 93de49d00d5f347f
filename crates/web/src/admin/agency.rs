//! Agency metadata in the back office: the IPTC Media Topic picker's
//! autocomplete (by name in the story's language, English or Arabic, or by
//! code; retired topics are never offered), and the editor's vocabularies.

use axum::Json;
use axum::extract::Query;
use axum::response::{IntoResponse, Response};
use newsdesk_domain::agency::{self, LEAST_URGENT, MOST_URGENT};
use newsdesk_domain::mediatopic;
use newsdesk_domain::roles::Permission;
use serde::Deserialize;

use super::{AdminError, Table};

/// Most suggestions one autocomplete answer holds.
const SUGGESTIONS: usize = 12;

pub(super) fn routes(t: Table) -> Table {
    t.get("/admin/mediatopics", Permission::WriteStories, topics)
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct TopicQuery {
    /// Name or code typed so far.
    q: Option<String>,
    /// Language of the names shown (`en`, `fa`, `ar`).
    lang: Option<String>,
}

/// `GET /admin/mediatopics?q=…&lang=fa`: `{"items": [{"qcode", "name", "name_en", "path"}]}`.
pub(super) async fn topics(Query(q): Query<TopicQuery>) -> Result<Response, AdminError> {
    let text = q.q.unwrap_or_default();
    if text.chars().count() > 100 {
        return Err(AdminError::BadRequest("the search text is longer than 100 characters".into()));
    }
    let lang = q.lang.unwrap_or_default();
    let items: Vec<_> = mediatopic::search(&text, SUGGESTIONS)
        .into_iter()
        .map(|t| {
            serde_json::json!({
                "qcode": t.qcode,
                "name": t.name(&lang),
                "name_en": t.name_en,
                "path": topic_path(t, &lang),
            })
        })
        .collect();
    Ok(Json(serde_json::json!({ "items": items })).into_response())
}

/// The broader topics of `t` down to it: `politics and government › election`.
fn topic_path(t: &mediatopic::Topic, lang: &str) -> String {
    let mut names = vec![t.name(lang).to_string()];
    let mut parent = t.parent.as_deref().and_then(mediatopic::get);
    while let Some(p) = parent {
        names.push(p.name(lang).to_string());
        parent = p.parent.as_deref().and_then(mediatopic::get);
    }
    names.reverse();
    names.join(" › ")
}

/// The editor's choices: urgencies with their labels, the genres and the
/// story's subjects with their names, in `lang`.
pub(super) fn editor_vocabularies(lang: &str, subjects: &str) -> minijinja::Value {
    let urgencies: Vec<_> = (MOST_URGENT..=LEAST_URGENT)
        .map(|u| {
            minijinja::context! { value => u.to_string(), label => agency::urgency_label(u, "en"), class => agency::urgency_class(u) }
        })
        .collect();
    let genres: Vec<_> = agency::genres()
        .iter()
        .map(|g| minijinja::context! { qcode => g.qcode, name => g.name_en, local => g.name(lang) })
        .collect();
    let chosen: Vec<_> = subjects
        .split([',', '،', ' ', '\n'])
        .filter(|s| !s.trim().is_empty())
        .map(|q| match mediatopic::get(q) {
            Some(t) => minijinja::context! { qcode => t.qcode, name => topic_path(t, lang), retired => t.retired },
            None => minijinja::context! { qcode => q.trim(), name => "unknown topic", retired => false },
        })
        .collect();
    minijinja::context! { urgencies => urgencies, genres => genres, subjects => chosen }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_topic_path_walks_up_to_the_top_level() {
        let cartoon = mediatopic::get("medtop:20000004").expect("cartoon");
        assert_eq!(
            topic_path(cartoon, "en"),
            "arts, culture, entertainment and media › arts and entertainment › cartoon"
        );
        assert!(topic_path(cartoon, "fa").starts_with("هنر، فرهنگ، سرگرمی و رسانه › "));
    }
}
