//! Rewrites a row-returning statement so that it always yields exactly one row.
//!
//! Spin 4.0.0–4.0.2 never returns from a query that matches no rows (spinframework/spin#3671). Every
//! statement of [`Db::query_all`](super::Db::query_all) and friends is therefore sent as
//!
//! ```sql
//! WITH <the statement's own CTEs>, __rows AS (<its main statement>)
//! SELECT coalesce(jsonb_agg(to_jsonb(__rows)), '[]'::jsonb) AS rows FROM __rows
//! ```
//!
//! An aggregate without `GROUP BY` yields one row whatever its input, and the rows travel as one `jsonb`
//! array that serde decodes into the caller's row type. The statement's own `WITH` list is merged rather
//! than nested, because Postgres allows data-modifying CTEs (`INSERT ... RETURNING`) only at the top level.
//! The aggregate reads `__rows` in the order it was produced, so an `ORDER BY` of the main statement holds
//! (Postgres aggregates a sorted subquery in its order).

/// The name of the wrapping CTE; stores must not use it.
const ROWS: &str = "__rows";

/// `sql` wrapped so that it returns one row with one `jsonb` column `rows`.
pub(crate) fn as_json_rows(sql: &str) -> String {
    let sql = sql.trim().trim_end_matches(';').trim_end();
    let (ctes, main) = split_with(sql);
    let select = format!("SELECT coalesce(jsonb_agg(to_jsonb({ROWS})), '[]'::jsonb) AS rows FROM {ROWS}");
    match ctes {
        Some(ctes) => format!("{ctes}, {ROWS} AS ({main}) {select}"),
        None => format!("WITH {ROWS} AS ({main}) {select}"),
    }
}

/// Splits a statement that starts with `WITH [RECURSIVE] name AS (...), ...` into its CTE list (with the
/// `WITH` keyword) and its main statement. Statements without a `WITH` list come back whole.
fn split_with(sql: &str) -> (Option<&str>, &str) {
    let Some(rest) = strip_keyword(sql, "WITH") else {
        return (None, sql);
    };
    let bytes = sql.as_bytes();
    let mut depth = 0usize;
    let mut at = sql.len() - rest.len();
    while at < bytes.len() {
        match bytes[at] {
            b'(' => depth += 1,
            b')' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    let after = sql[at + 1..].trim_start();
                    // `name (columns) AS (...)`: a column list is followed by AS, a CTE body is not.
                    if strip_keyword(after, "AS").is_none() && !after.starts_with(',') {
                        return (Some(sql[..=at].trim_end()), after);
                    }
                }
            }
            b'\'' | b'"' => at = skip_quoted(bytes, at),
            b'-' if bytes.get(at + 1) == Some(&b'-') => at = skip_line_comment(bytes, at),
            b'/' if bytes.get(at + 1) == Some(&b'*') => at = skip_block_comment(bytes, at),
            b'$' => at = skip_dollar_quoted(sql, at),
            _ => {}
        }
        at += 1;
    }
    (None, sql)
}

/// The text after `keyword` (any case) and the whitespace that must follow it.
fn strip_keyword<'a>(text: &'a str, keyword: &str) -> Option<&'a str> {
    let head = text.get(..keyword.len())?;
    let rest = &text[keyword.len()..];
    (head.eq_ignore_ascii_case(keyword) && rest.starts_with(|c: char| c.is_whitespace() || c == '(')).then_some(rest)
}

/// The index of the closing quote of the string or quoted identifier opening at `start` (a doubled quote
/// is an escaped one; backslashes only escape in `E'...'` strings).
fn skip_quoted(bytes: &[u8], start: usize) -> usize {
    let quote = bytes[start];
    let escapes = quote == b'\'' && start > 0 && bytes[start - 1].eq_ignore_ascii_case(&b'e');
    let mut at = start + 1;
    while at < bytes.len() {
        match bytes[at] {
            b'\\' if escapes => at += 1,
            byte if byte == quote => {
                if bytes.get(at + 1) == Some(&quote) {
                    at += 1;
                } else {
                    return at;
                }
            }
            _ => {}
        }
        at += 1;
    }
    bytes.len()
}

fn skip_line_comment(bytes: &[u8], start: usize) -> usize {
    bytes[start..].iter().position(|&b| b == b'\n').map_or(bytes.len(), |offset| start + offset)
}

fn skip_block_comment(bytes: &[u8], start: usize) -> usize {
    let mut depth = 0usize;
    let mut at = start;
    while at + 1 < bytes.len() {
        match (bytes[at], bytes[at + 1]) {
            (b'/', b'*') => {
                depth += 1;
                at += 1;
            }
            (b'*', b'/') => {
                depth -= 1;
                at += 1;
                if depth == 0 {
                    return at;
                }
            }
            _ => {}
        }
        at += 1;
    }
    bytes.len()
}

/// Skips `$tag$ ... $tag$`; a `$` that opens no dollar quote (a `$1` placeholder) is left alone.
fn skip_dollar_quoted(sql: &str, start: usize) -> usize {
    let rest = &sql[start + 1..];
    let Some(tag_len) = rest.find('$') else {
        return start;
    };
    let tag = &rest[..tag_len];
    if !tag.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') || tag.starts_with(|c: char| c.is_ascii_digit()) {
        return start;
    }
    let delimiter = &sql[start..start + tag_len + 2];
    let body = start + delimiter.len();
    sql[body..].find(delimiter).map_or(sql.len(), |offset| body + offset + delimiter.len() - 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TAIL: &str = "SELECT coalesce(jsonb_agg(to_jsonb(__rows)), '[]'::jsonb) AS rows FROM __rows";

    #[test]
    fn a_plain_statement_becomes_the_one_cte() {
        assert_eq!(
            as_json_rows("SELECT id FROM t WHERE id = $1 ORDER BY id;"),
            format!("WITH __rows AS (SELECT id FROM t WHERE id = $1 ORDER BY id) {TAIL}")
        );
        assert_eq!(
            as_json_rows("INSERT INTO t (a) VALUES ($1) RETURNING id"),
            format!("WITH __rows AS (INSERT INTO t (a) VALUES ($1) RETURNING id) {TAIL}")
        );
    }

    #[test]
    fn a_with_list_is_merged_so_data_modifying_ctes_stay_at_the_top() {
        let sql = "WITH changed AS (INSERT INTO t (a) VALUES ($1) RETURNING *), \
                   bump AS (UPDATE v SET n = n + 1 WHERE EXISTS (SELECT 1 FROM changed) RETURNING n) \
                   SELECT id FROM changed";
        assert_eq!(
            as_json_rows(sql),
            format!(
                "WITH changed AS (INSERT INTO t (a) VALUES ($1) RETURNING *), \
                 bump AS (UPDATE v SET n = n + 1 WHERE EXISTS (SELECT 1 FROM changed) RETURNING n), \
                 __rows AS (SELECT id FROM changed) {TAIL}"
            )
        );
    }

    #[test]
    fn column_lists_recursive_ctes_and_lowercase_keywords_are_understood() {
        let sql = "with recursive cats (id) as (select id from c where id = $1 union select c.id from c join cats \
                   on c.parent_id = cats.id) select * from p where p.category_id in (select id from cats)";
        let wrapped = as_json_rows(sql);
        assert!(wrapped.starts_with("with recursive cats (id) as (select id"), "{wrapped}");
        assert!(wrapped.contains("cats.id), __rows AS (select * from p where"), "{wrapped}");
    }

    #[test]
    fn parentheses_inside_strings_comments_and_dollar_quotes_do_not_count() {
        let sql = "WITH a AS (SELECT ')' AS x, \"we(ird\" AS y, E'\\')' AS z, $q$ ) $q$ AS w -- )\n /* ) */), \
                   b AS (SELECT $1::int4 AS n) SELECT * FROM a, b";
        let wrapped = as_json_rows(sql);
        assert!(
            wrapped.ends_with(&format!("b AS (SELECT $1::int4 AS n), __rows AS (SELECT * FROM a, b) {TAIL}")),
            "{wrapped}"
        );
    }

    #[test]
    fn a_column_named_like_with_is_not_a_with_list() {
        assert_eq!(as_json_rows("SELECT width FROM t"), format!("WITH __rows AS (SELECT width FROM t) {TAIL}"));
        assert_eq!(as_json_rows("WITHOUT"), format!("WITH __rows AS (WITHOUT) {TAIL}"));
    }
}
