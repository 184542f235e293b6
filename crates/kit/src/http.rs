//! Request/response types and the extraction helpers every handler uses.
//!
//! Handlers take a fully buffered [`Request`] and return a [`Response`]; both hosts (Spin and devhost) buffer
//! the body before the handler runs. Every malformed input becomes a [`Problem`] with a 4xx status here, so
//! handlers never see half-parsed data.

use bytes::Bytes;
use http::{header, HeaderMap, HeaderValue, StatusCode};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::problem::{FieldError, Problem};

/// A buffered HTTP request, as every component handler receives it.
pub type Request = http::Request<Bytes>;
/// A buffered HTTP response, as every component handler returns it.
pub type Response = http::Response<Bytes>;

/// Request id, generated or propagated by the gateway and returned to the client.
pub const X_REQUEST_ID: &str = "x-request-id";
/// Verified user id, set by the gateway only (client-sent values are stripped).
pub const X_PC_USER_ID: &str = "x-pc-user-id";
/// Verified role, set by the gateway only.
pub const X_PC_ROLE: &str = "x-pc-role";
/// The client's IP address as the gateway determined it ([`crate::client_addr`]), forwarded to services for
/// rate limits; the gateway drops any client-sent value.
pub const X_PC_CLIENT_ADDR: &str = "x-pc-client-addr";
/// Prefix of every header the gateway owns; any client-sent header with it is dropped.
pub const PC_HEADER_PREFIX: &str = "x-pc-";
/// Header Spin *appends* to incoming requests with the client's socket address: a client can send its own
/// first, so only the last value is Spin's. Read it through [`crate::client_addr`].
pub const SPIN_CLIENT_ADDR: &str = "spin-client-addr";
/// Header Spin sets with the path below the component's route (the whole path for a private component).
pub const SPIN_PATH_INFO: &str = "spin-path-info";

/// Marker extension: the host stopped reading the body because it exceeded this many bytes.
#[derive(Debug, Clone, Copy)]
pub struct BodyOverLimit(pub usize);

/// Extension: the cap (the component's `max_body_bytes`) the host applied while it read the body, so a
/// handler that checks the limit again need not read the setting a second time (on Spin every read is a
/// host call). Absent when the host read no body.
#[derive(Debug, Clone, Copy)]
pub struct BodyCap(pub usize);

/// A JSON response with the given status.
pub fn json<T: Serialize>(status: StatusCode, value: &T) -> Response {
    match serde_json::to_vec(value) {
        Ok(body) => {
            let mut response = http::Response::new(Bytes::from(body));
            *response.status_mut() = status;
            response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
            response
        }
        Err(error) => {
            tracing::error!(%error, "response serialisation failed");
            Problem::internal().into_response()
        }
    }
}

/// 201 with the created resource and its `Location`.
pub fn created<T: Serialize>(location: &str, value: &T) -> Response {
    let mut response = json(StatusCode::CREATED, value);
    if let Ok(location) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    response
}

/// An empty response with the given status.
pub fn empty(status: StatusCode) -> Response {
    let mut response = http::Response::new(Bytes::new());
    *response.status_mut() = status;
    response
}

/// A strong `ETag` derived from a representation's bytes (64 bits of its SHA-256, quoted).
pub fn content_etag(body: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(body);
    let mut etag = String::with_capacity(18);
    etag.push('"');
    for byte in &digest[..8] {
        etag.push_str(&format!("{byte:02x}"));
    }
    etag.push('"');
    etag
}

/// Whether the request's `If-None-Match` matches `etag` (RFC 9110 §13.1.2: `*`, or any listed tag by weak
/// comparison), so a `GET` may answer 304.
pub fn if_none_match(headers: &HeaderMap, etag: &str) -> bool {
    let opaque = |tag: &str| tag.trim().strip_prefix("W/").unwrap_or(tag.trim()).to_owned();
    let ours = opaque(etag);
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|tag| tag.trim() == "*" || opaque(tag) == ours)
}

/// A conditional read's answer: 304 with the validator headers when `If-None-Match` matches `etag`, else
/// `response` (whose status and body stay) with `ETag` and `Cache-Control: <cache_control>` added.
pub fn conditional(headers: &HeaderMap, etag: &str, cache_control: &str, response: Response) -> Response {
    let (mut parts, body) = response.into_parts();
    let body = if if_none_match(headers, etag) {
        parts.status = StatusCode::NOT_MODIFIED;
        // A 304 carries the validators and caching headers of the 200 it stands for, not its content headers.
        parts.headers.remove(header::CONTENT_TYPE);
        Bytes::new()
    } else {
        body
    };
    if let Ok(value) = HeaderValue::from_str(etag) {
        parts.headers.insert(header::ETAG, value);
    }
    if let Ok(value) = HeaderValue::from_str(cache_control) {
        parts.headers.insert(header::CACHE_CONTROL, value);
    }
    http::Response::from_parts(parts, body)
}

/// A header value as text, if present and visible ASCII.
pub fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|value| value.to_str().ok())
}

/// Whether the content type is JSON (`application/json` or any `+json` suffix type), parameters ignored.
pub fn is_json_content_type(headers: &HeaderMap) -> bool {
    let Some(value) = header_str(headers, header::CONTENT_TYPE.as_str()) else {
        return false;
    };
    let essence = value.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    essence == "application/json" || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// Parses a JSON request body into `T`.
///
/// - not JSON content type → 415
/// - empty body, syntax error, trailing data, too deep → 400
/// - wrong type, missing or unknown field (use `#[serde(deny_unknown_fields)]` on write DTOs), a string with a
///   NUL character (`\u0000`: no Postgres text can hold it) → 422 with the JSON path of the offending field
pub fn parse_json<T: DeserializeOwned>(request: &Request) -> Result<T, Problem> {
    if let Some(BodyOverLimit(limit)) = request.extensions().get::<BodyOverLimit>() {
        return Err(Problem::payload_too_large(*limit));
    }
    if !is_json_content_type(request.headers()) {
        return Err(Problem::unsupported_media_type("application/json"));
    }
    parse_json_bytes(request.body())
}

/// Parses JSON bytes into `T` with the error mapping of [`parse_json`].
pub fn parse_json_bytes<T: DeserializeOwned>(body: &[u8]) -> Result<T, Problem> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(Problem::bad_request("the request body is empty; a JSON document is expected"));
    }
    if has_escaped_nul(body) {
        return Err(nul_in_body(body));
    }
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let parsed = serde_path_to_error::deserialize(&mut deserializer);
    let value = match parsed {
        Ok(value) => value,
        Err(error) if error.inner().classify() == serde_json::error::Category::Data => {
            // JSON has one number type: `420.0` is the integer 420 to JSON Schema and to clients written in
            // languages without integers, so an integral float is taken where an integer is expected.
            return match integral_floats_as_integers(body) {
                Some(value) => serde_path_to_error::deserialize(value).map_err(field_problem),
                None => Err(field_problem(error)),
            };
        }
        Err(error) => return Err(field_problem(error)),
    };
    deserializer
        .end()
        .map_err(|error| Problem::bad_request(format!("malformed JSON: {}", without_position(&error))))?;
    Ok(value)
}

/// The 422 naming the field of a data error, or the 400 of a syntax error.
fn field_problem(error: serde_path_to_error::Error<serde_json::Error>) -> Problem {
    let path = error.path().to_string();
    let inner = error.into_inner();
    if inner.classify() == serde_json::error::Category::Data {
        let field = if path == "." { "body".to_owned() } else { path };
        Problem::validation(vec![FieldError::new(field, without_position(&inner))])
    } else {
        Problem::bad_request(format!("malformed JSON: {}", without_position(&inner)))
    }
}

/// The body as a JSON value with every integral float (`420.0`, `1e3`) made an integer, or `None` when it
/// holds none (or is not one JSON document). Only floats up to 2^53 are converted: a larger one may not be
/// the integer its text spelled, so it stays a float and is refused where an integer is expected.
fn integral_floats_as_integers(body: &[u8]) -> Option<serde_json::Value> {
    fn convert(value: &mut serde_json::Value) -> bool {
        const EXACT: f64 = 9_007_199_254_740_992.0; // 2^53
        match value {
            serde_json::Value::Number(number) if !number.is_i64() && !number.is_u64() => {
                match number.as_f64() {
                    Some(float) if float.fract() == 0.0 && float.abs() <= EXACT => {
                        // In range and integral, so the conversion is exact.
                        *value = serde_json::Value::from(float as i64);
                        true
                    }
                    _ => false,
                }
            }
            serde_json::Value::Array(items) => items.iter_mut().fold(false, |changed, item| convert(item) | changed),
            serde_json::Value::Object(fields) => {
                fields.values_mut().fold(false, |changed, item| convert(item) | changed)
            }
            _ => false,
        }
    }
    let mut value: serde_json::Value = serde_json::from_slice(body).ok()?;
    convert(&mut value).then_some(value)
}

/// Parses the query string into `T` (use `#[serde(deny_unknown_fields)]` to reject unknown parameters); any
/// error is a 400 naming the parameter when it can. A malformed percent-escape (`%zz`) or an escape that
/// decodes to invalid UTF-8 is a 400 too, rather than being decoded leniently into something else.
pub fn parse_query<T: DeserializeOwned>(request: &Request) -> Result<T, Problem> {
    let query = request.uri().query().unwrap_or("");
    check_query_encoding(query)?;
    let deserializer = serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
    serde_path_to_error::deserialize(deserializer).map_err(|error| {
        let field = error.path().to_string();
        let message = error.into_inner().to_string();
        Problem::bad_request("invalid query parameters")
            .with_errors(vec![FieldError::new(if field == "." { "query".to_owned() } else { field }, message)])
    })
}

/// Refuses percent-escapes that are not `%` and two hex digits, and escapes that decode to invalid UTF-8.
fn check_query_encoding(query: &str) -> Result<(), Problem> {
    let bytes = query.as_bytes();
    let malformed = bytes.iter().enumerate().any(|(index, byte)| {
        *byte == b'%' && !bytes.get(index + 1..index + 3).is_some_and(|hex| hex.iter().all(u8::is_ascii_hexdigit))
    });
    if malformed {
        return Err(Problem::bad_request("the query string has a malformed percent-escape"));
    }
    match percent_encoding::percent_decode_str(query).decode_utf8() {
        Err(_) => Err(Problem::bad_request("the query string is not valid UTF-8")),
        // Postgres text cannot hold NUL: refuse it here rather than let the database refuse it (a 500).
        Ok(decoded) if decoded.contains('\0') => {
            Err(Problem::bad_request("the query string contains a NUL character, which text cannot hold"))
        }
        Ok(_) => Ok(()),
    }
}

/// The 422 for a body that holds a NUL: names the first string (or key) that has one.
fn nul_in_body(body: &[u8]) -> Problem {
    fn path_of_nul(value: &serde_json::Value, path: String) -> Option<String> {
        let join = |key: &str| if path.is_empty() { key.to_owned() } else { format!("{path}.{key}") };
        match value {
            serde_json::Value::String(text) => text.contains('\0').then_some(path),
            serde_json::Value::Array(items) => {
                items.iter().enumerate().find_map(|(index, item)| path_of_nul(item, format!("{path}[{index}]")))
            }
            serde_json::Value::Object(fields) => {
                fields.iter().find_map(
                    |(key, item)| {
                        if key.contains('\0') {
                            Some(join(key))
                        } else {
                            path_of_nul(item, join(key))
                        }
                    },
                )
            }
            _ => None,
        }
    }
    let field = serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|value| path_of_nul(&value, String::new()))
        .filter(|path| !path.is_empty())
        .unwrap_or_else(|| "body".to_owned());
    Problem::validation(vec![FieldError::new(field, "must not contain a NUL character")])
}

/// Whether a JSON text holds the escape `\u0000` (a raw NUL is not valid JSON, so this is the only way a
/// string can carry one): a backslash run of odd length before `u0000` is an escape, an even one is literal
/// backslashes followed by the text `u0000`.
fn has_escaped_nul(body: &[u8]) -> bool {
    body.windows(5).enumerate().any(|(at, window)| {
        window == b"u0000" && body[..at].iter().rev().take_while(|&&byte| byte == b'\\').count() % 2 == 1
    })
}

/// serde_json appends "at line X column Y"; clients get the message without it (the path says where).
fn without_position(error: &serde_json::Error) -> String {
    let text = error.to_string();
    match text.rfind(" at line ") {
        Some(index) => text[..index].to_owned(),
        None => text,
    }
}

/// The request id the gateway assigned, if any.
pub fn request_id(request: &Request) -> Option<&str> {
    header_str(request.headers(), X_REQUEST_ID)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct NewThing {
        name: String,
        quantity: u16,
    }

    #[test]
    fn if_none_match_compares_weakly_and_answers_304_without_content() {
        let etag = content_etag(b"{\"items\":[]}");
        assert_eq!(etag.len(), 18);
        assert_ne!(etag, content_etag(b"{}"));
        let with = |value: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(header::IF_NONE_MATCH, HeaderValue::from_str(value).unwrap());
            headers
        };
        assert!(if_none_match(&with(&etag), &etag));
        assert!(if_none_match(&with(&format!("\"other\", W/{etag}")), &etag));
        assert!(if_none_match(&with("*"), &etag));
        assert!(!if_none_match(&with("\"other\""), &etag));
        assert!(!if_none_match(&HeaderMap::new(), &etag));

        let fresh = conditional(&with(&etag), &etag, "public, max-age=5", json(StatusCode::OK, &"x"));
        assert_eq!(fresh.status(), StatusCode::NOT_MODIFIED);
        assert!(fresh.body().is_empty());
        assert_eq!(fresh.headers()[header::ETAG], etag.as_str());
        assert_eq!(fresh.headers()[header::CACHE_CONTROL], "public, max-age=5");
        assert!(fresh.headers().get(header::CONTENT_TYPE).is_none());
        let stale = conditional(&with("\"other\""), &etag, "no-cache", json(StatusCode::OK, &"x"));
        assert_eq!(stale.status(), StatusCode::OK);
        assert_eq!(&stale.body()[..], b"\"x\"");
    }

    fn json_request(body: &str) -> Request {
        http::Request::builder()
            .header("content-type", "application/json; charset=utf-8")
            .body(Bytes::from(body.to_owned()))
            .unwrap()
    }

    fn status_of(body: &str) -> u16 {
        parse_json::<NewThing>(&json_request(body)).unwrap_err().status
    }

    #[test]
    fn malformed_json_is_400_and_bad_fields_are_422() {
        assert_eq!(status_of("{"), 400);
        assert_eq!(status_of(""), 400);
        assert_eq!(status_of(r#"{"name":"a","quantity":1} trailing"#), 400);
        let deep = json_request(&"[".repeat(10_000));
        assert_eq!(parse_json::<serde_json::Value>(&deep).unwrap_err().status, 400);
        assert_eq!(status_of(r#"{"name":"a","quantity":"many"}"#), 422);
        assert_eq!(status_of(r#"{"name":"a","quantity":70000}"#), 422);
        assert_eq!(status_of(r#"{"name":"a","quantity":1,"role":"admin"}"#), 422);
        assert_eq!(status_of(r#"{"name":"a"}"#), 422);
    }

    #[test]
    fn integral_floats_are_integers_and_other_floats_are_refused() {
        #[derive(Debug, serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Counted {
            quantity: i64,
            items: Vec<u16>,
        }
        let parsed = parse_json::<Counted>(&json_request(r#"{"quantity":420.0,"items":[1e2,-0.0,3]}"#)).unwrap();
        assert_eq!((parsed.quantity, parsed.items), (420, vec![100, 0, 3]));
        for refused in [
            r#"{"quantity":1.5,"items":[]}"#,
            r#"{"quantity":1e300,"items":[]}"#,
            r#"{"quantity":9007199254740994.0,"items":[]}"#,
        ] {
            let problem = parse_json::<Counted>(&json_request(refused)).unwrap_err();
            assert_eq!((problem.status, problem.errors[0].field.as_str()), (422, "quantity"), "{refused}");
        }
        let problem = parse_json::<Counted>(&json_request(r#"{"quantity":1.0,"items":[70000.0]}"#)).unwrap_err();
        assert_eq!(problem.errors[0].field, "items[0]");
        assert_eq!(status_of(r#"{"name":"a","quantity":2.0,"role":"admin"}"#), 422);
    }

    #[test]
    fn field_errors_name_the_path_without_line_numbers() {
        let problem = parse_json::<NewThing>(&json_request(r#"{"name":"a","quantity":-1}"#)).unwrap_err();
        assert_eq!(problem.errors[0].field, "quantity");
        assert!(!problem.errors[0].message.contains("line"));
    }

    #[test]
    fn a_nul_character_is_422_naming_the_field_in_a_body_and_400_in_a_query() {
        let problem = parse_json::<NewThing>(&json_request(r#"{"quantity":1,"name":"a\u0000b"}"#)).unwrap_err();
        assert_eq!(problem.status, 422, "{problem:?}");
        assert_eq!(problem.errors[0].field, "name");
        let problem = parse_json::<serde_json::Value>(&json_request(r#"{"items":[{"n":"x"},{"n":"\\\u0000"}]}"#));
        assert_eq!(problem.unwrap_err().errors[0].field, "items[1].n");
        // Escaped backslashes followed by the text u0000 are no NUL.
        assert!(parse_json::<NewThing>(&json_request(r#"{"name":"a\\u0000","quantity":1}"#)).is_ok());
        assert!(parse_json::<NewThing>(&json_request(r#"{"name":"u0000","quantity":1}"#)).is_ok());
        let request = |uri: &str| http::Request::builder().uri(uri).body(Bytes::new()).unwrap();
        let problem = parse_query::<serde_json::Value>(&request("/users?email=%00%13HC&limit=1")).unwrap_err();
        assert_eq!(problem.status, 400);
        assert!(parse_query::<std::collections::HashMap<String, String>>(&request("/x?q=%01")).is_ok());
    }

    #[test]
    fn a_lone_surrogate_escape_is_refused_by_the_json_parser() {
        // UTF-8 text (and so Postgres) cannot hold a lone surrogate; serde_json refuses the escape.
        for body in [r#"{"name":"\ud800","quantity":1}"#, r#"{"name":"a\udfffb","quantity":1}"#] {
            let problem = parse_json::<NewThing>(&json_request(body)).unwrap_err();
            assert!((400..500).contains(&problem.status), "{body}: {problem:?}");
        }
        // A pair is one character and fine.
        assert!(parse_json::<NewThing>(&json_request(r#"{"name":"\ud83d\ude00","quantity":1}"#)).is_ok());
    }

    #[test]
    fn headers_cannot_carry_a_nul_or_control_character() {
        // What a handler reads from a header (an Idempotency-Key, the client address) never holds NUL: the
        // http crate refuses such values when a host builds the request, and `header_str` gives only visible
        // ASCII.
        assert!(HeaderValue::from_bytes(b"key\0").is_err());
        assert!(HeaderValue::from_bytes(b"key\x01").is_err());
        let mut headers = HeaderMap::new();
        headers.insert("idempotency-key", HeaderValue::from_bytes(b"caf\xc3\xa9").unwrap());
        assert_eq!(header_str(&headers, "idempotency-key"), None);
    }

    #[test]
    fn non_json_content_type_is_415() {
        let request =
            http::Request::builder().header("content-type", "text/plain").body(Bytes::from_static(b"{}")).unwrap();
        assert_eq!(parse_json::<NewThing>(&request).unwrap_err().status, 415);
    }

    #[test]
    fn query_errors_are_400() {
        #[derive(Debug, serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        #[allow(dead_code)]
        struct Paging {
            limit: Option<u8>,
        }
        let request = |uri: &str| http::Request::builder().uri(uri).body(Bytes::new()).unwrap();
        assert!(parse_query::<Paging>(&request("/x?limit=5")).is_ok());
        assert_eq!(parse_query::<Paging>(&request("/x?limit=abc")).unwrap_err().status, 400);
        assert_eq!(parse_query::<Paging>(&request("/x?limit=999")).unwrap_err().status, 400);
        assert_eq!(parse_query::<Paging>(&request("/x?other=1")).unwrap_err().status, 400);
        for malformed in ["/x?limit=%zz", "/x?limit=5%", "/x?limit=%4", "/x?limit=%ff"] {
            assert_eq!(parse_query::<Paging>(&request(malformed)).unwrap_err().status, 400, "{malformed}");
        }
        assert!(parse_query::<Paging>(&request("/x?limit=%35")).is_ok());
    }
}
