//! Small helpers for the SQL this crate builds by hand, shared by every query
//! so SQLite and PostgreSQL read the same text the same way.

/// ` AND` the stories published before the keyset position (`at`, `id`): the
/// placeholders of a publish time and a News ID, in `published_at DESC,
/// news_id DESC` order. The `published_at <= at` is implied by the rest, but it
/// is what lets both engines start in the index at the position: with the `OR`
/// alone, SQLite walked the section's index from its newest story down to it
/// (30 ms for an old story in a section of 100,000, at every page not cached).
pub(crate) fn published_before(at: &str, id: &str) -> String {
    format!(" AND s.published_at <= {at} AND (s.published_at < {at} OR (s.published_at = {at} AND s.news_id < {id}))")
}

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

/// `n` placeholders numbered from `start`, comma-separated: `placeholders(3, 3)`
/// is `$3, $4, $5` (for `IN (...)` lists).
pub(crate) fn placeholders(start: usize, n: usize) -> String {
    (start..start + n).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ")
}

/// A bound value of a query built clause by clause.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Arg {
    Int(i64),
    Text(String),
}

impl From<i64> for Arg {
    fn from(n: i64) -> Arg {
        Arg::Int(n)
    }
}

impl From<String> for Arg {
    fn from(t: String) -> Arg {
        Arg::Text(t)
    }
}

impl From<&str> for Arg {
    fn from(t: &str) -> Arg {
        Arg::Text(t.to_string())
    }
}

/// The values of a query built clause by clause: `push` keeps a value and
/// returns its placeholder (`$1`, `$2`, ... in push order), so the SQL text and
/// the binds cannot fall out of step.
#[derive(Debug, Default)]
pub(crate) struct Args(Vec<Arg>);

impl Args {
    /// No values yet: the first `push` returns `$1`.
    pub(crate) fn new() -> Args {
        Args::default()
    }

    /// Keeps `value` and returns its `$n`.
    pub(crate) fn push(&mut self, value: impl Into<Arg>) -> String {
        self.0.push(value.into());
        format!("${}", self.0.len())
    }

    /// Binds the values, in push order, to `query` (built from the SQL text).
    pub(crate) fn bind_to(self, mut query: AnyQuery<'_>) -> AnyQuery<'_> {
        for a in self.0 {
            query = match a {
                Arg::Int(n) => query.bind(n),
                Arg::Text(t) => query.bind(t),
            };
        }
        query
    }
}

/// A query on the `Any` driver before it is run.
pub(crate) type AnyQuery<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>;

/// Commits `tx` when `result` is a success, rolls it back otherwise; returns `result`.
/// (A success that wrote nothing commits an empty transaction, which is harmless.)
pub(crate) async fn finish<T>(tx: sqlx::Transaction<'static, sqlx::Any>, result: crate::Result<T>) -> crate::Result<T> {
    match result {
        Ok(v) => {
            tx.commit().await?;
            Ok(v)
        }
        Err(e) => {
            tx.rollback().await?;
            Err(e)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Arg, Args, like_escape, placeholders};
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

    #[test]
    fn placeholders_count_from_start() {
        assert_eq!(placeholders(1, 1), "$1");
        assert_eq!(placeholders(3, 3), "$3, $4, $5");
        assert_eq!(placeholders(1, 0), "");
    }

    #[test]
    fn args_number_in_push_order() {
        let mut args = Args::new();
        assert_eq!(args.push(7), "$1");
        assert_eq!(args.push("news"), "$2");
        assert_eq!(args.push(String::from("x")), "$3");
        assert_eq!(args.0, vec![Arg::Int(7), Arg::Text("news".into()), Arg::Text("x".into())]);
    }

    backend_test!(
        async fn args_bind_where_their_placeholders_stand(db) {
            let mut args = Args::new();
            let a = args.push(40);
            let b = args.push("two");
            let c = args.push(2);
            let sql = format!("SELECT CAST({a} + {c} AS BIGINT) AS n, {b} AS t");
            let row = args.bind_to(sqlx::query(&sql)).fetch_one(db.store.pool()).await.expect("query");
            assert_eq!(row.try_get::<i64, _>("n").expect("n"), 42);
            assert_eq!(row.try_get::<String, _>("t").expect("t"), "two");
            let sql = format!("SELECT CAST(COUNT(*) AS BIGINT) AS n FROM (SELECT 1 AS x) t WHERE $1 IN ({})", placeholders(2, 3));
            let row = sqlx::query(&sql).bind(5_i64).bind(4_i64).bind(5_i64).bind(6_i64).fetch_one(db.store.pool()).await.expect("query");
            assert_eq!(row.try_get::<i64, _>("n").expect("n"), 1);
        }
    );
}
