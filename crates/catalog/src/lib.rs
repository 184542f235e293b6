//! # catalog — the catalog's vocabulary and public read model
//!
//! Shared by the products component (which owns the `catalog` schema) and the gateway (which answers cached
//! public reads itself, [`cached_reads`]). A plain library, so the products component's Spin entry point is
//! never linked into the gateway.
//!
//! - [`domain`]: domain types parsed at the edge (`Sku`, `Money`, `Currency`, `Name`, `Slug`, `Limit`, ...).
//! - [`listing`]: the listing's query — normalised filters, sort orders, the keyset cursor, the cache hash.
//! - [`cache`]: the Redis read cache (versioned keys, the version mirror, TTLs, popular keys, hit/miss logs).
//! - [`cached_reads`]: the public reads the gateway answers from that cache.
//! - here: the one way a catalog read is answered ([`read_response`]: `ETag`, 304, `Cache-Control`).

pub mod cache;
pub mod cached_reads;
pub mod domain;
pub mod listing;

use http::{header, HeaderValue};
use kit::{Request, Response};

use crate::cache::Entry;

/// Response header telling whether a read came from the cache: `hit`, `miss` (read from Postgres and
/// stored) or `bypass` (read from Postgres; the cache is off, failed, or does not apply).
pub const X_CACHE: &str = "x-cache";

/// `Cache-Control` of reads that depend on who asks (admins').
pub const PRIVATE_CACHE_CONTROL: &str = "private, no-cache";

/// Whether a read was served from the cache.
#[derive(Debug, Clone, Copy)]
pub enum CacheStatus {
    /// From the cache.
    Hit,
    /// Read from Postgres and stored.
    Miss,
    /// Read from Postgres; the cache is off, failed, or does not apply.
    Bypass,
}

/// Who a read's representation is for, and so who may cache it.
#[derive(Debug, Clone, Copy)]
pub enum Audience {
    /// The same for every caller: a shared cache may keep it for `http_max_age_secs`.
    Public,
    /// Depends on the caller (an admin's view): revalidate every time.
    Private,
}

/// `Cache-Control` of public reads that a shared cache may keep for `max_age_secs` (`http_max_age_secs`,
/// [`cache::CatalogCache::max_age_secs`]).
pub fn public_cache_control(max_age_secs: u64) -> String {
    format!("public, max-age={max_age_secs}")
}

/// The answer to a read of `entry`: 200 with the JSON body, or 304 when `If-None-Match` matches its `ETag`;
/// both with `ETag`, `Cache-Control` (`public_cache_control` for [`Audience::Public`]), `Vary: Authorization`
/// and the [`X_CACHE`] status.
pub fn read_response(
    request: &Request,
    entry: Entry,
    status: CacheStatus,
    audience: Audience,
    public_cache_control: &str,
) -> Response {
    let mut response = http::Response::new(entry.body);
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(header::VARY, HeaderValue::from_static("authorization"));
    let status = match status {
        CacheStatus::Hit => "hit",
        CacheStatus::Miss => "miss",
        CacheStatus::Bypass => "bypass",
    };
    headers.insert(X_CACHE, HeaderValue::from_static(status));
    let cache_control = match audience {
        Audience::Public => public_cache_control,
        Audience::Private => PRIVATE_CACHE_CONTROL,
    };
    kit::http::conditional(request.headers(), &entry.etag, cache_control, response)
}
