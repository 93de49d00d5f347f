//! What an export becomes: stories (posts), sections (categories, with their
//! tree), tags, bylines, photos (attachments whose files were found),
//! comments with their moderation state, and the old addresses that redirect
//! to the new ones. What is not carried over is listed with its reason.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};

use super::body::{BodyContext, convert, media_key};
use super::{Export, WxrItem};
use crate::StoryStatus;
use crate::comments::CommentStatus;
pub use crate::html::plain_text as html_text;
use crate::slug::slugify;

/// Something of the export not carried over (or not as it was), and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skip {
    /// What (`page 2 "About"`, `comment 7 on post 1`).
    pub what: String,
    /// Why.
    pub reason: String,
}

impl std::fmt::Display for Skip {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.what, self.reason)
    }
}

/// A category as a section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SectionPlan {
    /// Section names from the top down.
    pub names: Vec<String>,
    /// Its old addresses (`/category/parent/child`, `/category/child`, `/?cat=ID`), normalized by [`old_path`].
    pub old_paths: Vec<String>,
}

/// A comment to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommentPlan {
    /// WordPress comment id.
    pub id: i64,
    /// The top-level comment it answers (one level of threading), by WordPress id.
    pub parent: Option<i64>,
    /// Name.
    pub name: String,
    /// E-mail.
    pub email: String,
    /// Text.
    pub body: String,
    /// Moderation state.
    pub status: CommentStatus,
    /// When.
    pub created_at: DateTime<Utc>,
}

/// A post as a story.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoryPlan {
    /// WordPress post id.
    pub post_id: i64,
    /// GUID.
    pub guid: String,
    /// Headline (plain text).
    pub headline: String,
    /// Lead (from the excerpt).
    pub lead: String,
    /// Body HTML (sanitized when stored).
    pub body: String,
    /// Slug, from the old one.
    pub slug: Option<String>,
    /// Workflow state.
    pub status: StoryStatus,
    /// Publish time (published stories).
    pub published_at: Option<DateTime<Utc>>,
    /// When a scheduled story goes out.
    pub scheduled_at: Option<DateTime<Utc>>,
    /// Section names from the top down.
    pub section: Vec<String>,
    /// Tag names.
    pub tags: Vec<String>,
    /// Byline names.
    pub authors: Vec<String>,
    /// [`media_key`] of the featured image's file, when it was stored.
    pub photo: Option<String>,
    /// Old addresses, normalized by [`old_path`].
    pub old_paths: Vec<String>,
    /// Comments.
    pub comments: Vec<CommentPlan>,
}

/// An attachment, stored as a photo when its file is found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhotoPlan {
    /// WordPress id.
    pub post_id: i64,
    /// Title, for the report.
    pub title: String,
    /// URL of the file.
    pub url: String,
    /// Caption (the attachment's excerpt, else its title).
    pub caption: String,
}

/// Everything an export becomes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    /// Every category, parents first.
    pub sections: Vec<SectionPlan>,
    /// Posts.
    pub stories: Vec<StoryPlan>,
    /// Tags of published stories: old address → tag name.
    pub tag_redirects: Vec<(String, String)>,
    /// Authors of published stories: old address → byline name.
    pub author_redirects: Vec<(String, String)>,
    /// What is not carried over, or not as it was.
    pub skipped: Vec<Skip>,
}

/// Attachments of an export: what the caller looks for under the media folder.
pub fn photos(export: &Export) -> Vec<PhotoPlan> {
    export
        .items
        .iter()
        .filter(|i| i.post_type == "attachment" && !i.attachment_url.is_empty())
        .map(|i| {
            let excerpt = html_text(&i.excerpt);
            PhotoPlan {
                post_id: i.post_id,
                title: html_text(&i.title),
                url: i.attachment_url.clone(),
                caption: if excerpt.is_empty() { html_text(&i.title) } else { excerpt },
            }
        })
        .collect()
}

/// Every image file the posts show (attachments and `<img>` in bodies), for the caller to look for.
pub fn wanted_files(export: &Export) -> Vec<String> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    let attachments = photos(export).into_iter().map(|p| p.url);
    let images =
        export.items.iter().filter(|i| i.post_type == "post").flat_map(|i| super::body::image_urls(&i.content));
    for url in attachments.chain(images) {
        if seen.insert(media_key(&url)) {
            out.push(url);
        }
    }
    out
}

/// An old address as the redirects table keeps it and requests are looked up:
/// the path percent-decoded, without a trailing slash; of the query only
/// WordPress's own item keys (`?p=`, `?page_id=`, `?cat=`, `?tag=`,
/// `?attachment_id=`, `?author=`), on `/` (`/index.php?p=1` is `/?p=1`).
/// Accepts a full URL or a path. `None` for the home page itself.
pub fn old_path(url_or_path: &str) -> Option<String> {
    let s = url_or_path.trim();
    let s = match s.split_once("://") {
        Some((_, rest)) => rest.find('/').map_or("/", |i| &rest[i..]),
        None => s,
    };
    let s = s.split('#').next().unwrap_or_default();
    let (path, query) = s.split_once('?').unwrap_or((s, ""));
    let mut path = super::body::percent_decode(path);
    if !path.starts_with('/') {
        path.insert(0, '/');
    }
    while path.len() > 1 && path.ends_with('/') {
        path.pop();
    }
    for pair in query.split('&') {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        if matches!(k, "p" | "page_id" | "cat" | "tag" | "attachment_id" | "author") && !v.is_empty() {
            let base = path.strip_suffix("/index.php").unwrap_or(if path == "/index.php" { "" } else { &path });
            let base = base.trim_end_matches('/');
            return Some(format!("{base}/?{k}={}", super::body::percent_decode(v)));
        }
    }
    (path != "/").then_some(path)
}

/// Comment text: paragraphs and line breaks kept, tags removed, entities decoded.
fn comment_text(html: &str) -> String {
    let with_breaks = html.replace("<br />", "\n").replace("<br>", "\n").replace("</p>", "\n\n");
    let paragraphs: Vec<String> = with_breaks
        .split("\n\n")
        .map(|p| p.lines().map(html_text).filter(|l| !l.is_empty()).collect::<Vec<_>>().join("\n"))
        .filter(|p| !p.is_empty())
        .collect();
    paragraphs.join("\n\n")
}

fn describe(item: &WxrItem) -> String {
    let title = html_text(&item.title);
    let kind = match item.post_type.as_str() {
        "nav_menu_item" => "menu item",
        "" => "item",
        other => other,
    };
    if title.is_empty() { format!("{kind} {}", item.post_id) } else { format!("{kind} {} \"{title}\"", item.post_id) }
}

/// The section names (top down) of a category by nicename.
fn category_names(export: &Export, nicename: &str) -> Option<Vec<String>> {
    let by_nicename: HashMap<&str, &super::WxrCategory> =
        export.categories.iter().map(|c| (c.nicename.as_str(), c)).collect();
    let mut names = Vec::new();
    let mut cur = by_nicename.get(nicename).copied();
    while let Some(c) = cur {
        if names.len() > 16 {
            break; // A cycle in the parents: stop at some depth.
        }
        names.push(if c.name.trim().is_empty() { c.nicename.clone() } else { html_text(&c.name) });
        cur = if c.parent.is_empty() { None } else { by_nicename.get(c.parent.as_str()).copied() };
    }
    if names.is_empty() {
        return None;
    }
    names.reverse();
    Some(names)
}

/// The old category addresses: WordPress links `/category/parent/child/` and answers `/category/child/` too.
fn category_paths(export: &Export, cat: &super::WxrCategory) -> Vec<String> {
    let by_nicename: HashMap<&str, &super::WxrCategory> =
        export.categories.iter().map(|c| (c.nicename.as_str(), c)).collect();
    let mut chain = vec![cat.nicename.clone()];
    let mut cur = by_nicename.get(cat.parent.as_str()).copied();
    while let Some(c) = cur {
        if chain.len() > 16 {
            break;
        }
        chain.push(c.nicename.clone());
        cur = if c.parent.is_empty() { None } else { by_nicename.get(c.parent.as_str()).copied() };
    }
    chain.reverse();
    let mut out = Vec::new();
    for p in [
        format!("/category/{}", chain.join("/")),
        format!("/category/{}", cat.nicename),
        format!("/?cat={}", cat.term_id),
    ] {
        if let Some(p) = old_path(&p)
            && !out.contains(&p)
        {
            out.push(p);
        }
    }
    out
}

/// Turns an export into a plan. `media` says, for the [`media_key`] of each
/// file in [`wanted_files`], the stored photo's path or why there is none.
pub fn plan(export: &Export, media: &HashMap<String, Result<String, String>>) -> Plan {
    let mut p = Plan::default();
    for c in &export.categories {
        if let Some(names) = category_names(export, &c.nicename) {
            p.sections.push(SectionPlan { names, old_paths: category_paths(export, c) });
        }
    }
    let authors: HashMap<&str, String> = export
        .authors
        .iter()
        .map(|a| {
            let name = html_text(&a.display_name);
            (a.login.as_str(), if name.is_empty() { a.login.clone() } else { name })
        })
        .collect();
    let attachments: HashMap<i64, (String, String)> =
        photos(export).into_iter().map(|ph| (ph.post_id, (ph.url, ph.caption))).collect();
    let mut tag_seen = HashSet::new();
    let mut author_seen = HashSet::new();
    for item in &export.items {
        match item.post_type.as_str() {
            "post" => {}
            "attachment" => {
                // Its page redirects to the post it belongs to (added there); the file is a photo (the caller).
                continue;
            }
            "page" => {
                p.skipped.push(Skip {
                    what: describe(item),
                    reason: with_comments("newsdesk has no standalone pages", item),
                });
                continue;
            }
            "nav_menu_item" => {
                p.skipped.push(Skip {
                    what: describe(item),
                    reason: "menus are not carried over: the navigation is built from the sections".into(),
                });
                continue;
            }
            other => {
                p.skipped.push(Skip {
                    what: describe(item),
                    reason: with_comments(&format!("items of type `{other}` are not carried over"), item),
                });
                continue;
            }
        }
        let what = describe(item);
        let mut note = |reason: String| p.skipped.push(Skip { what: what.clone(), reason });
        let (status, published_at, scheduled_at) = match item.status.as_str() {
            "publish" => match item.date_gmt {
                Some(d) => (StoryStatus::Published, Some(d), None),
                None => {
                    note("published without a date: imported as a draft".into());
                    (StoryStatus::Draft, None, None)
                }
            },
            "future" => (StoryStatus::Scheduled, None, item.date_gmt),
            "draft" | "auto-draft" => (StoryStatus::Draft, None, None),
            "pending" => (StoryStatus::Submitted, None, None),
            "private" => {
                note("private: imported as a draft (not public)".into());
                (StoryStatus::Draft, None, None)
            }
            "trash" => {
                p.skipped.push(Skip { what: what.clone(), reason: with_comments("in WordPress's trash", item) });
                continue;
            }
            other => {
                p.skipped.push(Skip {
                    what: what.clone(),
                    reason: with_comments(&format!("unknown status `{other}`"), item),
                });
                continue;
            }
        };
        let (status, published_at, scheduled_at) = if status == StoryStatus::Scheduled && scheduled_at.is_none() {
            note("scheduled without a date: imported as a draft".into());
            (StoryStatus::Draft, None, None)
        } else {
            (status, published_at, scheduled_at)
        };
        let (status, published_at) = if !item.post_password.is_empty() && status == StoryStatus::Published {
            note("password-protected: imported as a draft (newsdesk has no passwords on stories)".into());
            (StoryStatus::Draft, None)
        } else {
            (status, published_at)
        };
        if item.is_sticky {
            note("sticky: newsdesk has no pinned stories, imported unpinned".into());
        }
        let mut headline = html_text(&item.title);
        if headline.is_empty() {
            note("no title: headline set to \"(no title)\"".into());
            headline = "(no title)".into();
        }
        let categories: Vec<&super::ItemTerm> = item.terms.iter().filter(|t| t.domain == "category").collect();
        let section = categories
            .first()
            .map(|c| category_names(export, &c.nicename).unwrap_or_else(|| vec![html_text(&c.name)]))
            .filter(|n| n.iter().all(|x| !x.is_empty()))
            .unwrap_or_else(|| vec!["Uncategorized".to_string()]);
        if categories.len() > 1 {
            let others: Vec<String> = categories[1..].iter().map(|c| html_text(&c.name)).collect();
            note(format!(
                "also in the categories {}: a story sits in one section (the first, {})",
                others.join(", "),
                section.join(" › ")
            ));
        }
        let mut tags = Vec::new();
        let mut tag_slugs = HashSet::new();
        for t in item.terms.iter().filter(|t| t.domain == "post_tag") {
            let name = html_text(&t.name);
            if name.is_empty() || !tag_slugs.insert(slugify(&name)) {
                continue;
            }
            if status == StoryStatus::Published && tag_seen.insert(t.nicename.clone()) {
                for old in [format!("/tag/{}", t.nicename), format!("/?tag={}", t.nicename)] {
                    p.tag_redirects.extend(old_path(&old).map(|o| (o, name.clone())));
                }
            }
            tags.push(name);
        }
        let author = authors.get(item.creator.as_str()).cloned().unwrap_or_else(|| item.creator.clone());
        let authors_of: Vec<String> = if author.trim().is_empty() { Vec::new() } else { vec![author.clone()] };
        if status == StoryStatus::Published && !item.creator.is_empty() && author_seen.insert(item.creator.clone()) {
            p.author_redirects.extend(old_path(&format!("/author/{}", item.creator)).map(|o| (o, author.clone())));
        }
        let children: Vec<i64> = export
            .items
            .iter()
            .filter(|a| a.post_type == "attachment" && a.post_parent == item.post_id)
            .map(|a| a.post_id)
            .collect();
        let mut body_notes = Vec::new();
        let ctx = BodyContext { attachments: &attachments, children: &children, media };
        let body = convert(&item.content, &ctx, &mut body_notes);
        // One line per distinct note: a post with ten galleries of the same photos says so once.
        let mut counted: Vec<(String, usize)> = Vec::new();
        for n in body_notes {
            match counted.iter_mut().find(|(m, _)| *m == n) {
                Some((_, k)) => *k += 1,
                None => counted.push((n, 1)),
            }
        }
        for (n, k) in counted {
            note(if k == 1 { n } else { format!("{n} ({k} times)") });
        }
        let photo = match item.meta("_thumbnail_id").and_then(|v| v.trim().parse::<i64>().ok()) {
            Some(id) => match attachments.get(&id) {
                Some((url, _)) => match media.get(&media_key(url)) {
                    Some(Ok(_)) => Some(media_key(url)),
                    Some(Err(reason)) => {
                        note(format!("featured image {url}: {reason}"));
                        None
                    }
                    None => {
                        note(format!("featured image {url}: not looked for"));
                        None
                    }
                },
                None => {
                    note(format!("featured image: attachment {id} is not in the export"));
                    None
                }
            },
            None => None,
        };
        let mut old_paths = Vec::new();
        let attachment_links = export
            .items
            .iter()
            .filter(|a| a.post_type == "attachment" && a.post_parent == item.post_id)
            .flat_map(|a| [a.link.clone(), format!("/?attachment_id={}", a.post_id)]);
        for link in [item.link.clone(), format!("/?p={}", item.post_id)].into_iter().chain(attachment_links) {
            if let Some(o) = old_path(&link)
                && !old_paths.contains(&o)
            {
                old_paths.push(o);
            }
        }
        let comments = comments_of(item, published_at.or(item.date_gmt), &mut p.skipped, &what);
        let slug = Some(slugify(&super::body::percent_decode(&item.post_name))).filter(|_| !item.post_name.is_empty());
        p.stories.push(StoryPlan {
            post_id: item.post_id,
            guid: item.guid.clone(),
            headline,
            lead: html_text(&item.excerpt),
            body,
            slug,
            status,
            published_at,
            scheduled_at,
            section,
            tags,
            authors: authors_of,
            photo,
            old_paths,
            comments,
        });
    }
    p
}

fn with_comments(reason: &str, item: &WxrItem) -> String {
    match item.comments.len() {
        0 => reason.to_string(),
        1 => format!("{reason} (with its comment)"),
        n => format!("{reason} (with its {n} comments)"),
    }
}

/// The comments of a post, each answering its top-level ancestor.
fn comments_of(
    item: &WxrItem,
    fallback: Option<DateTime<Utc>>,
    skipped: &mut Vec<Skip>,
    post: &str,
) -> Vec<CommentPlan> {
    let parents: HashMap<i64, i64> = item.comments.iter().map(|c| (c.id, c.parent)).collect();
    let mut kept = HashSet::new();
    let mut out = Vec::new();
    for c in &item.comments {
        let what = format!("comment {} on {post}", c.id);
        if !matches!(c.comment_type.as_str(), "" | "comment") {
            skipped.push(Skip { what, reason: format!("a {}, not a reader's comment", c.comment_type) });
            continue;
        }
        let status = match c.approved.as_str() {
            "1" | "approve" | "approved" => CommentStatus::Approved,
            "0" | "hold" => CommentStatus::Pending,
            "spam" => CommentStatus::Spam,
            "trash" | "post-trashed" => CommentStatus::Rejected,
            other => {
                skipped.push(Skip { what: what.clone(), reason: format!("unknown state `{other}`: kept as pending") });
                CommentStatus::Pending
            }
        };
        let body = comment_text(&c.content);
        if body.is_empty() {
            skipped.push(Skip { what, reason: "empty".into() });
            continue;
        }
        let Some(created_at) = c.date_gmt.or(fallback) else {
            skipped.push(Skip { what, reason: "no date".into() });
            continue;
        };
        // Up to the top-level comment (one level of threading), through comments that were kept.
        let mut top = None;
        let mut cur = c.parent;
        let mut steps = 0;
        while cur != 0 && steps < 1000 {
            if kept.contains(&cur) {
                top = Some(cur);
            }
            cur = parents.get(&cur).copied().unwrap_or(0);
            steps += 1;
        }
        let name = html_text(&c.author);
        kept.insert(c.id);
        out.push(CommentPlan {
            id: c.id,
            parent: top,
            name: if name.is_empty() { "Anonymous".into() } else { name.chars().take(80).collect() },
            email: c.author_email.clone(),
            body,
            status,
            created_at,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn old_paths_are_normalized() {
        assert_eq!(old_path("https://ex.org/2011/01/hello-world/").as_deref(), Some("/2011/01/hello-world"));
        assert_eq!(old_path("https://ex.org/?p=123").as_deref(), Some("/?p=123"));
        assert_eq!(old_path("/index.php?p=123&x=1").as_deref(), Some("/?p=123"));
        assert_eq!(old_path("/?utm=1&p=5").as_deref(), Some("/?p=5"));
        assert_eq!(old_path("/blog/?p=5").as_deref(), Some("/blog/?p=5"));
        assert_eq!(old_path("https://ex.org/caf%C3%A9/").as_deref(), Some("/café"));
        assert_eq!(old_path("https://ex.org/"), None);
        assert_eq!(old_path("https://ex.org"), None);
    }

    #[test]
    fn html_text_strips_and_decodes() {
        assert_eq!(html_text("Title <b>with</b> &amp; &#8220;markup&#8221;"), "Title with & “markup”");
    }
}
