//! Fetching an ingested wire item into the newsroom: a draft made from the
//! item's latest version (headline, summary, body, byline, keywords, and the
//! agency metadata it carries: urgency, slugline, dateline place, IPTC Media
//! Topics), optionally put on a desk, that remembers where it came from
//! (`story_sources`), so the desk sees when the source sends a newer version.

use newsdesk_domain::roles::Permission;
use newsdesk_domain::{BodyFormat, Edition, limits, mediatopic};
use newsdesk_storage::{IngestedItem, StorySource};

use super::{Actor, AgencyChanges, DeskError, FieldError, SectionChoice, StoryChanges, boards, create};
use crate::AppState;

/// What to fetch and where to.
#[derive(Debug, Clone)]
pub struct FetchRequest {
    /// The item's source.
    pub source: String,
    /// The item's guid.
    pub guid: String,
    /// The edition the draft is written in.
    pub edition: Edition,
    /// Its public section (an id of that edition).
    pub section_id: Option<i64>,
    /// The desk to put it on (its first stage), if any.
    pub desk_id: Option<i64>,
}

/// The first `max` characters of `text`.
fn clip(text: &str, max: usize) -> String {
    text.chars().take(max).collect()
}

/// The byline without a leading "By ".
fn byline_name(byline: &str) -> String {
    let b = byline.trim();
    let b = b.strip_prefix("By ").or_else(|| b.strip_prefix("by ")).unwrap_or(b);
    clip(b.trim(), limits::MAX_NAME)
}

/// The draft's fields from `item`: what our rules accept of it (an
/// over-long text is cut, a subject that is not a current IPTC Media Topic
/// is left out, urgency 9 becomes our lowest, 8).
pub fn draft_from(item: &IngestedItem) -> StoryChanges {
    let headline = if item.headline.trim().is_empty() { item.slugline.clone() } else { item.headline.clone() };
    let subjects: Vec<String> = serde_json::from_str::<Vec<serde_json::Value>>(&item.subjects)
        .unwrap_or_default()
        .iter()
        .filter_map(|s| s.get("code").and_then(|c| c.as_str()))
        .filter_map(|c| mediatopic::choose(c).ok())
        .map(|t| t.qcode.to_string())
        .collect();
    let keywords: Vec<String> = serde_json::from_str::<Vec<String>>(&item.keywords)
        .unwrap_or_default()
        .into_iter()
        .map(|k| clip(k.trim(), limits::MAX_NAME))
        .filter(|k| !k.is_empty())
        .take(limits::MAX_TAGS)
        .collect();
    let byline = byline_name(&item.byline);
    StoryChanges {
        headline: Some(clip(headline.trim(), limits::MAX_HEADLINE)),
        lead: Some(clip(item.description.trim(), limits::MAX_LEAD)),
        body: Some(item.body_html.clone()),
        body_format: Some(BodyFormat::Html),
        tags: Some(keywords),
        authors: Some(if byline.is_empty() { Vec::new() } else { vec![byline] }),
        agency: AgencyChanges {
            urgency: item.urgency.map(|u| i64::from(u.clamp(1, 8))),
            slugline: Some(clip(item.slugline.trim(), 100)),
            located: Some(clip(item.located.trim(), 100)),
            subjects: Some(subjects),
            ..AgencyChanges::default()
        },
        ..StoryChanges::default()
    }
}

/// Makes a draft from the item `req` names, records its provenance and puts
/// it on the chosen desk. A canceled or withheld item is refused (409).
/// Returns the draft's News ID.
pub async fn fetch(state: &AppState, actor: &Actor, req: FetchRequest) -> Result<i64, DeskError> {
    actor.require(Permission::WriteStories)?;
    let item = state
        .store
        .ingested_item(&req.source, &req.guid)
        .await?
        .ok_or_else(|| DeskError::NotFound(format!("There is no item “{}” from “{}”.", req.guid, req.source)))?;
    match item.pub_status.as_str() {
        "canceled" => {
            return Err(DeskError::Conflict {
                current_version: None,
                message: format!("The source canceled item “{}”: it must not be used.", item.guid),
            });
        }
        "withheld" => {
            return Err(DeskError::Conflict {
                current_version: None,
                message: format!("The source withholds item “{}” for now: wait for a usable version.", item.guid),
            });
        }
        _ => {}
    }
    if let Some(d) = req.desk_id {
        // Refused before the draft is made: only a desk's members put stories on it.
        if !boards::works_on(state, actor, d).await? {
            return Err(DeskError::Forbidden(format!("Only members of desk {d} put stories on it.")));
        }
    }
    let Some(section_id) = req.section_id else {
        return Err(DeskError::Invalid(vec![FieldError::new("section", "Choose the draft's section.")]));
    };
    let mut changes = StoryChanges { section: Some(SectionChoice::Id(section_id)), ..draft_from(&item) };
    if changes.agency.urgency.is_none()
        && let Some(d) = req.desk_id
    {
        // An item without an urgency starts at the desk's default.
        changes.agency.urgency = boards::desk(state, d).await?.default_urgency;
    }
    let news_id = create(state, actor, &req.edition, changes).await?;
    state.store.record_story_source(news_id, &item, actor.user()).await.map_err(|e| {
        DeskError::Internal(format!("draft {news_id} was made but its source could not be recorded: {e}"))
    })?;
    if let Some(d) = req.desk_id {
        boards::move_story(state, actor, news_id, d, None).await?;
    }
    Ok(news_id)
}

/// Where story `news_id` came from, if it was fetched.
pub async fn source_of(state: &AppState, news_id: i64) -> Result<Option<StorySource>, DeskError> {
    Ok(state.store.story_source(news_id).await?)
}
