//! CORS from an allow-list of exact origins (`cors_allowed_origins`, comma separated). Origins not on the
//! list get no CORS headers (the browser then blocks the response) and their preflights a 403.

use http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use kit::http::header_str;
use kit::{Request, Response};

use crate::error::Error;

/// Methods a cross-origin caller may use.
const ALLOWED_METHODS: &str = "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS";
/// Request headers a cross-origin caller may send.
const ALLOWED_HEADERS: &[&str] = &["authorization", "content-type", "idempotency-key", "x-request-id", "accept"];
/// Response headers a cross-origin caller may read.
const EXPOSED_HEADERS: &str = "x-request-id, retry-after, location";
/// How long a browser may cache a preflight, in seconds.
const MAX_AGE_SECS: &str = "600";

/// The CORS policy.
#[derive(Debug, Clone, Default)]
pub struct Cors {
    origins: Vec<String>,
}

impl Cors {
    /// A policy allowing the comma-separated `origins` (e.g. `https://shop.example.com,http://localhost:3000`).
    pub fn new(origins: &str) -> Self {
        Self {
            origins: origins
                .split(',')
                .map(|origin| origin.trim().trim_end_matches('/').to_owned())
                .filter(|origin| !origin.is_empty())
                .collect(),
        }
    }

    fn allows(&self, origin: &str) -> bool {
        self.origins.iter().any(|allowed| allowed == origin)
    }

    /// Answers a preflight (`OPTIONS` with `Origin` and `Access-Control-Request-Method`); `None` for any
    /// other request.
    pub fn preflight(&self, request: &Request) -> Result<Option<Response>, Error> {
        let headers = request.headers();
        if request.method() != Method::OPTIONS {
            return Ok(None);
        }
        let (Some(origin), Some(method)) = (
            header_str(headers, header::ORIGIN.as_str()),
            header_str(headers, header::ACCESS_CONTROL_REQUEST_METHOD.as_str()),
        ) else {
            return Ok(None);
        };
        if !self.allows(origin) {
            return Err(Error::CorsRefused("this origin is not allowed"));
        }
        let method_allowed = ALLOWED_METHODS.split(", ").any(|allowed| allowed == method);
        if !method_allowed {
            return Err(Error::CorsRefused("this method is not allowed cross-origin"));
        }
        let requested = header_str(headers, header::ACCESS_CONTROL_REQUEST_HEADERS.as_str()).unwrap_or("");
        let headers_allowed = requested
            .split(',')
            .map(|name| name.trim().to_ascii_lowercase())
            .filter(|name| !name.is_empty())
            .all(|name| ALLOWED_HEADERS.contains(&name.as_str()));
        if !headers_allowed {
            return Err(Error::CorsRefused("a requested header is not allowed cross-origin"));
        }
        let mut response = kit::http::empty(StatusCode::NO_CONTENT);
        let out = response.headers_mut();
        out.insert(header::ACCESS_CONTROL_ALLOW_METHODS, HeaderValue::from_static(ALLOWED_METHODS));
        out.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_str(&ALLOWED_HEADERS.join(", ")).unwrap_or(HeaderValue::from_static("")),
        );
        out.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static(MAX_AGE_SECS));
        out.append(header::VARY, HeaderValue::from_static("access-control-request-method"));
        out.append(header::VARY, HeaderValue::from_static("access-control-request-headers"));
        Ok(Some(response))
    }

    /// Adds `Access-Control-Allow-Origin` (and friends) when `origin` is allowed. `Vary: Origin` is always
    /// set so caches never serve one origin's answer to another.
    pub fn decorate(&self, origin: &str, headers: &mut HeaderMap) {
        headers.append(header::VARY, HeaderValue::from_static("origin"));
        if !self.allows(origin) {
            return;
        }
        if let Ok(value) = HeaderValue::from_str(origin) {
            headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, value);
            headers.insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, HeaderValue::from_static(EXPOSED_HEADERS));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn preflight(origin: &str, method: &str, headers: &str) -> Result<Option<Response>, Error> {
        let request = http::Request::builder()
            .method(Method::OPTIONS)
            .uri("/orders")
            .header("origin", origin)
            .header("access-control-request-method", method)
            .header("access-control-request-headers", headers)
            .body(Bytes::new())
            .unwrap();
        Cors::new("https://shop.example.com, http://localhost:3000/").preflight(&request)
    }

    #[test]
    fn allowed_preflight_gets_204_with_policy() {
        let response = preflight("http://localhost:3000", "POST", "Content-Type, Authorization").unwrap().unwrap();
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
        assert!(response.headers()["access-control-allow-headers"].to_str().unwrap().contains("authorization"));
    }

    #[test]
    fn unknown_origin_method_or_header_is_refused() {
        assert!(preflight("https://evil.example", "GET", "").is_err());
        assert!(preflight("https://shop.example.com", "TRACE", "").is_err());
        assert!(preflight("https://shop.example.com", "GET", "x-pc-role").is_err());
    }

    #[test]
    fn only_allowed_origins_are_echoed() {
        let cors = Cors::new("https://shop.example.com");
        let mut headers = HeaderMap::new();
        cors.decorate("https://evil.example", &mut headers);
        assert!(headers.get("access-control-allow-origin").is_none());
        cors.decorate("https://shop.example.com", &mut headers);
        assert_eq!(headers["access-control-allow-origin"], "https://shop.example.com");
    }
}
