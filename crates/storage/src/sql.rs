//! Small helpers for the SQL this crate builds by hand, shared by every query
//! so SQLite and PostgreSQL read the same text the same way.

/// Escapes `s` for use inside a `LIKE` pattern: `\`, `%` and `_` are prefixed
/// with `\`, so user input matches literally. Every `LIKE` that binds such a
/// pattern says `ESCAPE '\'`: SQLite has no default escape character, and
/// naming it makes both engines agree.
pub(crate) fn like_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '\\' | '%' | '_') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::like_escape;
    use crate::backend_test;
    use sqlx::Row;

    #[test]
    fn wildcards_and_the_escape_are_escaped() {
        assert_eq!(like_escape("50% off_x"), "50\\% off\\_x");
        assert_eq!(like_escape("a\\b"), "a\\\\b");
        assert_eq!(like_escape("news/world"), "news/world");
    }

    /// Whether the database finds `text LIKE pattern ESCAPE '\'`.
    async fn like(db: &crate::testing::TestDb, text: &str, pattern: &str) -> bool {
        let row = sqlx::query("SELECT CAST(CASE WHEN $1 LIKE $2 ESCAPE '\\' THEN 1 ELSE 0 END AS BIGINT) AS m")
            .bind(text.to_string())
            .bind(pattern.to_string())
            .fetch_one(db.store.pool())
            .await
            .expect("LIKE query");
        row.try_get::<i64, _>("m").expect("m") == 1
    }

    backend_test!(
        async fn escaped_input_matches_literally(db) {
            // A section path prefix still matches its subsections...
            assert!(like(&db, "news/world", &format!("{}/%", like_escape("news"))).await);
            assert!(like(&db, "news/world/europe", &format!("{}/%", like_escape("news/world"))).await);
            assert!(!like(&db, "newsroom/x", &format!("{}/%", like_escape("news"))).await);
            // ...but `%` and `_` typed by a user are not wildcards.
            assert!(!like(&db, "news/world", &format!("{}/%", like_escape("new_"))).await);
            assert!(like(&db, "new_/world", &format!("{}/%", like_escape("new_"))).await);
            assert!(!like(&db, "500 off", &format!("%{}%", like_escape("50%"))).await);
            assert!(like(&db, "a 50% rise", &format!("%{}%", like_escape("50%"))).await);
            assert!(like(&db, "c:\\temp", &format!("%{}%", like_escape("\\t"))).await);
        }
    );
}
