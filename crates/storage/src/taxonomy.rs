//! Editing the section tree (create, rename, move, reorder) and merging tags,
//! with redirects from old addresses. Such changes touch many pages, so they
//! are announced in the change log as a site-wide change (News ID 0).

use newsdesk_domain::slug::slugify;
use newsdesk_domain::{Section, Tag};
use sqlx::{AnyConnection, Row};

use crate::accounts::{AuditEntry, audit_in};
use crate::content::{now, record_change, section_from_row};
use crate::{Result, Store, StoreError};

/// The News ID the change log uses for a change that concerns the whole site.
pub const SITE_CHANGE: i64 = 0;

/// A section as the admin page edits it.
#[derive(Debug, Clone)]
pub struct SectionEdit {
    /// Display name.
    pub name: String,
    /// URL segment; `None` derives it from the name.
    pub slug: Option<String>,
    /// New parent (`None`: top level).
    pub parent_id: Option<i64>,
    /// Order among siblings.
    pub position: i64,
}

fn check_name(name: &str) -> Result<(String, String)> {
    let name = name.split_whitespace().collect::<Vec<_>>().join(" ");
    if name.is_empty() || name.chars().count() > 80 {
        return Err(StoreError::Invalid("a section name must have 1 to 80 characters".into()));
    }
    if let Some(problem) = newsdesk_domain::text::check("section name", &name) {
        return Err(StoreError::Invalid(problem));
    }
    let slug = slugify(&name);
    Ok((name, slug))
}

fn check_slug(wanted: Option<&str>, derived: String) -> Result<String> {
    match wanted.map(str::trim).filter(|s| !s.is_empty()) {
        None if derived.is_empty() => Err(StoreError::Invalid("the name gives no usable address; give a slug".into())),
        None => Ok(derived),
        Some(s) if slugify(s) == s => Ok(s.to_string()),
        Some(s) => Err(StoreError::Invalid(format!(
            "the slug may hold only lower-case letters, digits and hyphens (for example `{}`)",
            slugify(s)
        ))),
    }
}

async fn section_by_id(conn: &mut AnyConnection, id: i64) -> Result<Option<Section>> {
    let row = sqlx::query("SELECT id, edition_id, parent_id, slug, name, path, position FROM sections WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(section_from_row).transpose()
}

async fn path_taken(conn: &mut AnyConnection, edition_id: i64, path: &str, except: Option<i64>) -> Result<bool> {
    let row = sqlx::query("SELECT id FROM sections WHERE edition_id = $1 AND path = $2")
        .bind(edition_id)
        .bind(path)
        .fetch_optional(&mut *conn)
        .await?;
    Ok(match row {
        Some(r) => Some(r.try_get::<i64, _>("id")?) != except,
        None => false,
    })
}

/// `audit` completed with what only the write knows: an empty target id
/// becomes the section's id, an empty detail its (new) path.
fn section_entry(audit: &AuditEntry, s: &Section) -> AuditEntry {
    let target_id = if audit.target_id.is_empty() { s.id.to_string() } else { audit.target_id.clone() };
    let detail = if audit.detail.is_empty() { s.path.clone() } else { audit.detail.clone() };
    AuditEntry { target_id, detail, ..audit.clone() }
}

impl Store {
    /// Creates a section in `edition_id`; `audit` commits with it (see
    /// an empty target id becomes the new section's id, an empty detail its path).
    pub async fn create_section(&self, edition_id: i64, e: &SectionEdit, audit: &AuditEntry) -> Result<Section> {
        let (name, derived) = check_name(&e.name)?;
        let slug = check_slug(e.slug.as_deref(), derived)?;
        let mut tx = self.begin_write().await?;
        let parent = match e.parent_id {
            Some(p) => match section_by_id(&mut tx, p).await? {
                Some(s) if s.edition_id == edition_id => Some(s),
                _ => return Err(StoreError::Invalid(format!("there is no parent section {p} in this edition"))),
            },
            None => None,
        };
        let path = parent.as_ref().map_or(slug.clone(), |p| format!("{}/{slug}", p.path));
        if path_taken(&mut tx, edition_id, &path, None).await? {
            tx.rollback().await?;
            return Err(StoreError::Invalid(format!("there is already a section at /section/{path}")));
        }
        let row = sqlx::query(
            "INSERT INTO sections (edition_id, parent_id, slug, name, path, position) VALUES ($1, $2, $3, $4, $5, $6) \
             RETURNING id, edition_id, parent_id, slug, name, path, position",
        )
        .bind(edition_id)
        .bind(e.parent_id)
        .bind(&slug)
        .bind(&name)
        .bind(&path)
        .bind(e.position)
        .fetch_one(&mut *tx)
        .await?;
        record_change(&mut tx, SITE_CHANGE, edition_id).await?;
        let section = section_from_row(&row)?;
        audit_in(&mut tx, &section_entry(audit, &section)).await?;
        tx.commit().await?;
        Ok(section)
    }

    /// Renames, moves or reorders a section. When its address changes, the
    /// addresses of its subsections change with it, and the old ones redirect.
    /// `audit` commits with the change.
    pub async fn update_section(&self, id: i64, e: &SectionEdit, audit: &AuditEntry) -> Result<Section> {
        let (name, derived) = check_name(&e.name)?;
        let mut tx = self.begin_write().await?;
        let Some(old) = section_by_id(&mut tx, id).await? else {
            tx.rollback().await?;
            return Err(StoreError::Invalid(format!("there is no section {id}")));
        };
        // Keep the slug unless asked: renaming a section does not move it.
        let slug = match e.slug.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            Some(s) => check_slug(Some(s), derived)?,
            None => old.slug.clone(),
        };
        let parent = match e.parent_id {
            Some(p) => match section_by_id(&mut tx, p).await? {
                Some(s) if s.edition_id == old.edition_id => Some(s),
                _ => {
                    tx.rollback().await?;
                    return Err(StoreError::Invalid(format!("there is no parent section {p} in this edition")));
                }
            },
            None => None,
        };
        if let Some(p) = &parent
            && (p.id == old.id || p.path.starts_with(&format!("{}/", old.path)))
        {
            tx.rollback().await?;
            return Err(StoreError::Invalid("a section cannot move into itself or one of its subsections".into()));
        }
        let path = parent.as_ref().map_or(slug.clone(), |p| format!("{}/{slug}", p.path));
        if path != old.path && path_taken(&mut tx, old.edition_id, &path, Some(id)).await? {
            tx.rollback().await?;
            return Err(StoreError::Invalid(format!("there is already a section at /section/{path}")));
        }
        sqlx::query("UPDATE sections SET name = $2, slug = $3, parent_id = $4, position = $5 WHERE id = $1")
            .bind(id)
            .bind(&name)
            .bind(&slug)
            .bind(e.parent_id)
            .bind(e.position)
            .execute(&mut *tx)
            .await?;
        if path != old.path {
            let old_len = i64::try_from(old.path.chars().count()).unwrap_or(i64::MAX);
            sqlx::query(
                "UPDATE sections SET path = $3 || substr(path, CAST($4 AS INTEGER) + 1) \
                 WHERE edition_id = $1 AND (path = $2 OR substr(path, 1, CAST($4 AS INTEGER) + 1) = $2 || '/')",
            )
            .bind(old.edition_id)
            .bind(&old.path)
            .bind(&path)
            .bind(old_len)
            .execute(&mut *tx)
            .await?;
            // Earlier redirects into the old address now lead to the new one.
            sqlx::query(
                "UPDATE redirects SET new_path = $3 || substr(new_path, CAST($4 AS INTEGER) + 1) \
                 WHERE edition_id = $1 AND kind = 'section' AND (new_path = $2 OR substr(new_path, 1, CAST($4 AS INTEGER) + 1) = $2 || '/')",
            )
            .bind(old.edition_id)
            .bind(&old.path)
            .bind(&path)
            .bind(old_len)
            .execute(&mut *tx)
            .await?;
            sqlx::query("DELETE FROM redirects WHERE edition_id = $1 AND kind = 'section' AND old_path = $2")
                .bind(old.edition_id)
                .bind(&path)
                .execute(&mut *tx)
                .await?;
            sqlx::query(
                "INSERT INTO redirects (edition_id, kind, old_path, new_path, created_at) VALUES ($1, 'section', $2, $3, $4) \
                 ON CONFLICT (edition_id, kind, old_path) DO UPDATE SET new_path = excluded.new_path",
            )
            .bind(old.edition_id)
            .bind(&old.path)
            .bind(&path)
            .bind(now())
            .execute(&mut *tx)
            .await?;
        }
        record_change(&mut tx, SITE_CHANGE, old.edition_id).await?;
        let updated =
            section_by_id(&mut tx, id).await?.ok_or_else(|| StoreError::Invalid(format!("section {id} vanished")))?;
        audit_in(&mut tx, &section_entry(audit, &updated)).await?;
        tx.commit().await?;
        Ok(updated)
    }

    /// Where an old section address (`path`, or a subsection below it) lives now.
    pub async fn section_redirect(&self, edition_id: i64, path: &str) -> Result<Option<String>> {
        let rows = sqlx::query(
            "SELECT old_path, new_path FROM redirects WHERE edition_id = $1 AND kind = 'section' \
             AND (old_path = $2 OR substr($2, 1, length(old_path) + 1) = old_path || '/') \
             ORDER BY length(old_path) DESC LIMIT 1",
        )
        .bind(edition_id)
        .bind(path)
        .fetch_all(self.pool())
        .await?;
        let Some(r) = rows.first() else { return Ok(None) };
        let (old, new): (String, String) = (r.try_get("old_path")?, r.try_get("new_path")?);
        Ok(Some(format!("{new}{}", &path[old.len()..])))
    }

    /// Where a merged tag's slug leads now.
    pub async fn tag_redirect(&self, edition_id: i64, slug: &str) -> Result<Option<String>> {
        let row =
            sqlx::query("SELECT new_path FROM redirects WHERE edition_id = $1 AND kind = 'tag' AND old_path = $2")
                .bind(edition_id)
                .bind(slug)
                .fetch_optional(self.pool())
                .await?;
        Ok(row.map(|r| r.try_get("new_path")).transpose()?)
    }

    /// The tags of an edition with how many stories carry each, by name.
    pub async fn tags_with_counts(&self, edition_id: i64) -> Result<Vec<(Tag, i64)>> {
        let rows = sqlx::query(
            "SELECT t.id, t.slug, t.name, COUNT(st.news_id) AS n FROM tags t \
             LEFT JOIN story_tags st ON st.tag_id = t.id WHERE t.edition_id = $1 \
             GROUP BY t.id, t.slug, t.name ORDER BY t.name",
        )
        .bind(edition_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok((Tag { id: r.try_get("id")?, slug: r.try_get("slug")?, name: r.try_get("name")? }, r.try_get("n")?))
            })
            .collect()
    }

    /// Merges tag `from` into tag `into`: its stories get `into`, `from` is
    /// deleted, and `/tag/{from}` redirects. Returns the stories moved.
    /// `audit` commits with the merge; its detail gets `, {n} stories` appended.
    pub async fn merge_tags(&self, edition_id: i64, from: i64, into: i64, audit: &AuditEntry) -> Result<u64> {
        if from == into {
            return Err(StoreError::Invalid("a tag cannot be merged into itself".into()));
        }
        let mut tx = self.begin_write().await?;
        let mut slugs = Vec::new();
        for id in [from, into] {
            let row = sqlx::query("SELECT slug FROM tags WHERE id = $1 AND edition_id = $2")
                .bind(id)
                .bind(edition_id)
                .fetch_optional(&mut *tx)
                .await?;
            match row {
                Some(r) => slugs.push(r.try_get::<String, _>("slug")?),
                None => {
                    tx.rollback().await?;
                    return Err(StoreError::Invalid(format!("there is no tag {id} in this edition")));
                }
            }
        }
        sqlx::query(
            "INSERT INTO story_tags (news_id, tag_id, position) SELECT news_id, $2, position FROM story_tags \
             WHERE tag_id = $1 AND news_id NOT IN (SELECT news_id FROM story_tags WHERE tag_id = $2)",
        )
        .bind(from)
        .bind(into)
        .execute(&mut *tx)
        .await?;
        // The stories moved: those whose link to `from` this deletes (on
        // PostgreSQL a story saved meanwhile is counted only if its link is).
        let mut stories: Vec<i64> = sqlx::query("DELETE FROM story_tags WHERE tag_id = $1 RETURNING news_id")
            .bind(from)
            .fetch_all(&mut *tx)
            .await?
            .iter()
            .map(|r| r.try_get("news_id"))
            .collect::<std::result::Result<_, _>>()?;
        stories.sort_unstable();
        sqlx::query("DELETE FROM tags WHERE id = $1").bind(from).execute(&mut *tx).await?;
        // The moved stories' bylines kept in their rows, as the link tables have them now.
        for part in stories.chunks(500) {
            let sql = format!(
                "UPDATE stories SET byline = (SELECT l.list FROM story_bylines l WHERE l.news_id = stories.news_id) \
                 WHERE news_id IN ({})",
                crate::sql::placeholders(1, part.len())
            );
            let mut q = sqlx::query(&sql);
            for id in part {
                q = q.bind(*id);
            }
            q.execute(&mut *tx).await?;
        }
        sqlx::query("UPDATE redirects SET new_path = $3 WHERE edition_id = $1 AND kind = 'tag' AND new_path = $2")
            .bind(edition_id)
            .bind(&slugs[0])
            .bind(&slugs[1])
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO redirects (edition_id, kind, old_path, new_path, created_at) VALUES ($1, 'tag', $2, $3, $4) \
             ON CONFLICT (edition_id, kind, old_path) DO UPDATE SET new_path = excluded.new_path",
        )
        .bind(edition_id)
        .bind(&slugs[0])
        .bind(&slugs[1])
        .bind(now())
        .execute(&mut *tx)
        .await?;
        for id in &stories {
            record_change(&mut tx, *id, edition_id).await?;
        }
        record_change(&mut tx, SITE_CHANGE, edition_id).await?;
        let detail = format!("{}, {} stories", audit.detail, stories.len());
        audit_in(&mut tx, &AuditEntry { detail, ..audit.clone() }).await?;
        tx.commit().await?;
        Ok(stories.len() as u64)
    }
}

impl Store {
    /// The comment moderation mode an edition sets for itself (`pre`, `post`), if any.
    pub async fn edition_comment_moderation(&self, edition_id: i64) -> Result<Option<String>> {
        let row = sqlx::query("SELECT comment_moderation FROM editions WHERE id = $1")
            .bind(edition_id)
            .fetch_optional(self.pool())
            .await?;
        Ok(row.map(|r| r.try_get::<Option<String>, _>("comment_moderation")).transpose()?.flatten())
    }
}

impl Store {
    /// The path of a section, in any edition.
    pub async fn section_path(&self, id: i64) -> Result<Option<String>> {
        let row = sqlx::query("SELECT path FROM sections WHERE id = $1").bind(id).fetch_optional(self.pool()).await?;
        Ok(row.map(|r| r.try_get("path")).transpose()?)
    }
}
