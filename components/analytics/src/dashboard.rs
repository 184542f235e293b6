//! The sales dashboard: one static page and its script, served by this component (no CDN, no build step).
//! The page is public; the data it draws comes from the admin-only report routes, with a token the page
//! takes from its URL fragment (`#token=…`, never sent to a server) or from a login form.

use bytes::Bytes;
use http::{header, StatusCode};
use kit::Response;

const PAGE: &str = include_str!("dashboard/index.html");
const SCRIPT: &str = include_str!("dashboard/app.js");
/// Only this origin's script and data; inline styles are allowed, inline scripts are not.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
     connect-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

fn asset(content_type: &'static str, body: &'static str) -> Response {
    let mut response = Response::new(Bytes::from_static(body.as_bytes()));
    *response.status_mut() = StatusCode::OK;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, header::HeaderValue::from_static(content_type));
    headers.insert(header::CONTENT_SECURITY_POLICY, header::HeaderValue::from_static(CONTENT_SECURITY_POLICY));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, header::HeaderValue::from_static("nosniff"));
    headers.insert(header::CACHE_CONTROL, header::HeaderValue::from_static("no-cache"));
    headers.insert(header::REFERRER_POLICY, header::HeaderValue::from_static("no-referrer"));
    response
}

/// `GET /analytics/dashboard`.
pub fn page() -> Response {
    asset("text/html; charset=utf-8", PAGE)
}

/// `GET /analytics/dashboard/app.js`.
pub fn script() -> Response {
    asset("text/javascript; charset=utf-8", SCRIPT)
}
