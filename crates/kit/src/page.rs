//! Paging, the same for every listing of the API: `limit` (1 to a maximum, a default when absent), an opaque
//! `cursor` (base64url JSON of the last item's keyset key, which only this listing can read), and a
//! [`Page`] of `items` with the `next_cursor`.
//!
//! A bad `limit` or `cursor` is a [`FieldError`] on that parameter, which every component answers as a 400
//! with [`Problem::bad_query`](crate::Problem::bad_query).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::problem::FieldError;

/// Longest cursor accepted, in characters: no key of this API needs more, and decoding stays bounded.
const CURSOR_MAX: usize = 1024;
/// What a client is told about a cursor this listing did not issue.
const NOT_A_CURSOR: &str = "is not a cursor returned by this listing";

/// A page size: 1 ..= `max`, `default` when the query has none.
/// Serialised as the number (it is part of the catalog's cache key).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Limit(u32);

impl Limit {
    /// The usual page sizes: 20 by default, at most 100.
    pub fn parse(raw: Option<i64>) -> Result<Self, FieldError> {
        Self::parse_within(raw, 20, 100)
    }

    /// A page size with its own default and maximum (e.g. a report's top-N).
    pub fn parse_within(raw: Option<i64>, default: u32, max: u32) -> Result<Self, FieldError> {
        match raw {
            None => Ok(Self(default)),
            Some(value) if (1..=i64::from(max)).contains(&value) => Ok(Self(value as u32)),
            Some(_) => Err(FieldError::new("limit", format!("must be between 1 and {max}"))),
        }
    }

    /// The size.
    pub fn get(self) -> u32 {
        self.0
    }

    /// The rows to fetch: one more than the page, which tells whether a next page exists.
    pub fn fetch(self) -> i64 {
        i64::from(self.0) + 1
    }
}

/// An opaque keyset cursor holding the key `K` of the last item of a page.
///
/// The text is base64url JSON; clients must treat it as opaque. A key type that needs more checks than its
/// shape (a range, the sort it belongs to) validates after [`Cursor::decode`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor<K>(pub K);

impl<K: Serialize> Cursor<K> {
    /// The text sent to clients.
    pub fn encode(&self) -> String {
        // The keys are plain strings, integers, UUIDs and enums: serialising them cannot fail.
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(&self.0).unwrap_or_default())
    }
}

impl<K: DeserializeOwned> Cursor<K> {
    /// Reads a cursor from the query; a text this listing did not issue is an error on `cursor`.
    pub fn decode(raw: &str) -> Result<Self, FieldError> {
        if raw.len() > CURSOR_MAX {
            return Err(bad_cursor(None));
        }
        let bytes = URL_SAFE_NO_PAD.decode(raw.trim()).map_err(|_| bad_cursor(None))?;
        serde_json::from_slice(&bytes).map(Cursor).map_err(|_| bad_cursor(None))
    }

    /// The optional `cursor` query parameter, as its key.
    pub fn decode_opt(raw: Option<&str>) -> Result<Option<K>, FieldError> {
        raw.map(|raw| Self::decode(raw).map(|cursor| cursor.0)).transpose()
    }
}

/// The error for a cursor that decodes but fails the listing's own checks (`None`: the usual message).
pub fn bad_cursor(message: Option<&str>) -> FieldError {
    FieldError::new("cursor", message.unwrap_or(NOT_A_CURSOR))
}

/// One page of a listing: `{"items": [...], "next_cursor": "..." | null}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Page<T> {
    /// The items, in the listing's order.
    pub items: Vec<T>,
    /// Where the next page starts; `null` on the last page.
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    /// The page from `rows` fetched with [`Limit::fetch`] (one extra row): the extra row is dropped, and its
    /// presence gives the cursor after the last kept item, keyed by `key`.
    pub fn from_rows<K, F>(mut rows: Vec<T>, limit: Limit, key: F) -> Self
    where
        K: Serialize,
        F: FnOnce(&T) -> K,
    {
        let page = limit.get() as usize;
        let next_cursor = if rows.len() > page {
            rows.truncate(page);
            rows.last().map(|last| Cursor(key(last)).encode())
        } else {
            None
        };
        Self { items: rows, next_cursor }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_default_and_bound_and_name_the_field() {
        assert_eq!(Limit::parse(None).unwrap().get(), 20);
        assert_eq!(Limit::parse(Some(100)).unwrap().fetch(), 101);
        assert_eq!(Limit::parse_within(None, 10, 50).unwrap().get(), 10);
        for bad in [0, -1, 101, i64::MAX] {
            assert_eq!(Limit::parse(Some(bad)).unwrap_err().field, "limit");
        }
    }

    #[test]
    fn cursors_round_trip_and_refuse_foreign_text() {
        let key = (1_700_000_000_000_000_i64, uuid::Uuid::nil());
        let text = Cursor(key).encode();
        assert_eq!(Cursor::<(i64, uuid::Uuid)>::decode(&text).unwrap().0, key);
        for bad in ["", "!!", "bm90IGpzb24", &"A".repeat(CURSOR_MAX + 1), &Cursor("text").encode()] {
            assert_eq!(Cursor::<(i64, uuid::Uuid)>::decode(bad).unwrap_err().field, "cursor", "{bad:?}");
        }
        assert_eq!(Cursor::<i64>::decode_opt(None).unwrap(), None);
    }

    #[test]
    fn a_page_keeps_limit_rows_and_points_after_the_last() {
        let limit = Limit::parse(Some(2)).unwrap();
        let page = Page::from_rows(vec![1, 2, 3], limit, |last| *last);
        assert_eq!(page.items, vec![1, 2]);
        assert_eq!(Cursor::<i32>::decode(page.next_cursor.as_deref().unwrap()).unwrap().0, 2);
        let last = Page::from_rows(vec![1, 2], limit, |last| *last);
        assert_eq!((last.items.len(), last.next_cursor), (2, None));
    }
}
