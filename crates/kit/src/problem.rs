//! RFC 9457 problem details.
//!
//! Components convert their own error enums into a [`Problem`] in one place each; internal causes are logged
//! there and never put in `detail`.

use bytes::Bytes;
use http::{header, HeaderName, HeaderValue, StatusCode};
use serde::Serialize;

/// Media type of every error response.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// One invalid field of a request, reported inside a validation problem.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// Where the error is: a JSON path into the body (`items[2].quantity`) or a query parameter name.
    pub field: String,
    /// What is wrong, for a human.
    pub message: String,
}

impl FieldError {
    /// A field error for `field`.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self { field: field.into(), message: message.into() }
    }
}

/// Collects the field errors of one request body, so a single 422 names every invalid field.
#[derive(Debug, Default)]
pub struct Fields(Vec<FieldError>);

impl Fields {
    /// The parsed value, or `None` after recording the error under `field`.
    pub fn check<T, M: Into<String>>(&mut self, field: &str, result: Result<T, M>) -> Option<T> {
        result.map_err(|message| self.0.push(FieldError::new(field, message))).ok()
    }

    /// The value of a parse that names its own field, or `None` after recording its error.
    pub fn record<T>(&mut self, result: Result<T, FieldError>) -> Option<T> {
        result.map_err(|error| self.0.push(error)).ok()
    }

    /// Records an error found outside a parse (a rule between two fields).
    pub fn push(&mut self, error: FieldError) {
        self.0.push(error);
    }

    /// The collected errors as a 422, or `Ok` when there were none.
    pub fn finish(self) -> Result<(), Problem> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(Problem::validation(self.0))
        }
    }
}

/// An RFC 9457 problem: `type`, `title`, `status`, `detail` and, for validation, `errors`.
#[derive(Debug, Clone, Serialize)]
pub struct Problem {
    /// The kind of problem, serialised as the URN `urn:pycommerce:problem:<slug>` in `type`.
    #[serde(rename = "type", serialize_with = "serialize_type")]
    pub slug: &'static str,
    /// Short summary of the kind of problem; the same for every occurrence.
    pub title: &'static str,
    /// The HTTP status code.
    pub status: u16,
    /// Explanation of this occurrence, safe to show a client.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// Field errors of a validation problem.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    #[serde(skip)]
    headers: Vec<(HeaderName, HeaderValue)>,
}

impl Problem {
    /// A problem of kind `slug` with the given status and title.
    pub fn new(status: StatusCode, slug: &'static str, title: &'static str) -> Self {
        Self { slug, title, status: status.as_u16(), detail: None, errors: Vec::new(), headers: Vec::new() }
    }

    /// Adds the occurrence-specific explanation.
    #[must_use]
    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    /// Adds field errors.
    #[must_use]
    pub fn with_errors(mut self, errors: Vec<FieldError>) -> Self {
        self.errors = errors;
        self
    }

    /// Adds a response header (for example `Allow` or `Retry-After`).
    #[must_use]
    pub fn with_header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.push((name, value));
        self
    }

    /// The status code as the `http` type.
    pub fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    /// 400: the request is malformed.
    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad-request", "Bad request").with_detail(detail)
    }

    /// 400 naming the query parameter that is wrong (`limit`, `cursor`, a filter), the same in every
    /// component.
    pub fn bad_query(field: FieldError) -> Self {
        Self::bad_request("invalid query parameters").with_errors(vec![field])
    }

    /// 401 with a `WWW-Authenticate: Bearer` challenge.
    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", "Unauthorized")
            .with_detail(detail)
            .with_header(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"))
    }

    /// 403: authenticated, but not allowed.
    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", "Forbidden").with_detail(detail)
    }

    /// 404: no such resource (also used to hide resources a caller may not know about).
    pub fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "not-found", "Not found")
    }

    /// 405 with the `Allow` header listing the methods the path supports.
    pub fn method_not_allowed(allow: &[http::Method]) -> Self {
        let allow = allow.iter().map(http::Method::as_str).collect::<Vec<_>>().join(", ");
        let mut problem = Self::new(StatusCode::METHOD_NOT_ALLOWED, "method-not-allowed", "Method not allowed");
        if let Ok(value) = HeaderValue::from_str(&allow) {
            problem = problem.with_header(header::ALLOW, value);
        }
        problem
    }

    /// 409: the request conflicts with the current state.
    pub fn conflict(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "conflict", "Conflict").with_detail(detail)
    }

    /// 413: the body is larger than `limit` bytes.
    pub fn payload_too_large(limit: usize) -> Self {
        Self::new(StatusCode::PAYLOAD_TOO_LARGE, "payload-too-large", "Payload too large")
            .with_detail(format!("the request body must not exceed {limit} bytes"))
    }

    /// 415: the body is not JSON.
    pub fn unsupported_media_type(expected: &str) -> Self {
        Self::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported-media-type", "Unsupported media type")
            .with_detail(format!("the request body must be {expected}"))
    }

    /// 422 with field errors.
    pub fn validation(errors: Vec<FieldError>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, "validation", "Validation failed")
            .with_detail("the request has invalid fields")
            .with_errors(errors)
    }

    /// 429 with `Retry-After` in seconds.
    pub fn too_many_requests(retry_after_secs: u64) -> Self {
        Self::new(StatusCode::TOO_MANY_REQUESTS, "too-many-requests", "Too many requests")
            .with_detail("too many attempts; retry later")
            .with_header(header::RETRY_AFTER, HeaderValue::from(retry_after_secs))
    }

    /// 500 with no detail: the cause is logged by whoever builds it.
    pub fn internal() -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "Internal error")
            .with_detail("an unexpected error occurred; it has been logged")
    }

    /// 502: an upstream answered badly or could not be reached.
    pub fn bad_gateway(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_GATEWAY, "bad-gateway", "Bad gateway").with_detail(detail)
    }

    /// 503: a dependency (database, cache, bridge) is unavailable.
    pub fn unavailable(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", "Service unavailable").with_detail(detail)
    }

    /// 504: a dependency did not answer in time.
    pub fn gateway_timeout(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::GATEWAY_TIMEOUT, "timeout", "Gateway timeout").with_detail(detail)
    }

    /// The problem as an HTTP response.
    pub fn into_response(self) -> crate::Response {
        let body = serde_json::to_vec(&self).unwrap_or_default();
        let mut response = http::Response::new(Bytes::from(body));
        *response.status_mut() = self.status_code();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        for (name, value) in self.headers {
            headers.insert(name, value);
        }
        response
    }
}

fn serialize_type<S: serde::Serializer>(slug: &&'static str, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_str(&format_args!("urn:pycommerce:problem:{slug}"))
}

impl From<Problem> for crate::Response {
    fn from(problem: Problem) -> Self {
        problem.into_response()
    }
}

/// A problem is a value of each component's error type (`#[from]`), shown as status, title and detail.
impl std::error::Error for Problem {}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.status, self.title)?;
        if let Some(detail) = &self.detail {
            write!(f, ": {detail}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problem_response_has_problem_json_and_extra_headers() {
        let response = Problem::too_many_requests(7).into_response();
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(response.headers()[header::CONTENT_TYPE], PROBLEM_JSON);
        assert_eq!(response.headers()[header::RETRY_AFTER], "7");
        let body: serde_json::Value = serde_json::from_slice(response.body()).unwrap();
        assert_eq!(body["type"], "urn:pycommerce:problem:too-many-requests");
        assert_eq!(body["status"], 429);
        assert!(body.get("errors").is_none());
    }

    #[test]
    fn validation_problem_lists_field_errors() {
        let response = Problem::validation(vec![FieldError::new("email", "is not an email")]).into_response();
        let body: serde_json::Value = serde_json::from_slice(response.body()).unwrap();
        assert_eq!(body["status"], 422);
        assert_eq!(body["errors"][0]["field"], "email");
    }
}
