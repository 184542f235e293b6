//! What utoipa's attributes cannot state, applied to the generated document:
//!
//! - the answers every operation can get from the gateway itself or from any component (bad path or
//!   header, body limit, upstream failures, rate limits...), declared once under `components/responses` and
//!   referenced by every operation that does not describe that status itself ([`gateway_responses`]);
//! - the exact input rules of the components' domain types (`components/*/src/domain.rs`): trimmed names
//!   without control characters, emails, SKUs, ISO 4217 codes, strings that no Postgres text can refuse
//!   (no NUL) — as patterns built here from named pieces, so each rule is readable and written once
//!   ([`constraints`]).
//!
//! The patterns are ECMA 262 regular expressions (JSON Schema's dialect). A rule that depends on more than
//! one value (`min_price` ≤ `max_price`, `from` ≤ `to`, a product ordered once per order) or on stored data
//! (an existing category) is stated in the field's description only; no schema can carry it.

use serde_json::{json, Value};
use utoipa::openapi::path::Operation;
use utoipa::openapi::schema::Object;
use utoipa::openapi::{ContentBuilder, OpenApi, Ref, RefOr, ResponseBuilder, Schema};

/// Statuses any operation may answer without describing them itself, with the reusable response's name.
const GATEWAY_RESPONSES: &[(&str, &str, &str)] = &[
    (
        "400",
        "BadRequest",
        "Bad request: malformed JSON, an invalid query parameter or header, an invalid `Content-Length`, or a \
         path the gateway refuses to forward (a dot segment, an encoded separator `%2F`, `%5C` or `%00` — e.g. in \
         an id — or invalid UTF-8)",
    ),
    ("404", "NotFound", "No such resource (or not yours); also any path no route serves"),
    ("405", "MethodNotAllowed", "The path is served, but not with this method; see `Allow`"),
    ("413", "PayloadTooLarge", "Body over the gateway's limit (`max_body_bytes`, 1 MiB by default)"),
    ("415", "UnsupportedMediaType", "A body that is not declared as JSON (`Content-Type`)"),
    ("429", "TooManyRequests", "Rate limited; see `Retry-After`"),
    ("502", "BadGateway", "The gateway could not reach the service owning the route"),
    ("503", "ServiceUnavailable", "A dependency of the service (database, cache, bridge) is unavailable"),
    ("504", "GatewayTimeout", "The service owning the route did not answer in time"),
];

/// The 401 of a present but invalid bearer token: every routed operation answers it, even public ones (a bad
/// token is never ignored). The gateway's own routes (tag `gateway`) answer before looking at tokens.
const UNAUTHORIZED: (&str, &str, &str) =
    ("401", "Unauthorized", "No valid bearer token (`WWW-Authenticate: Bearer`), or an invalid one on a public route");

/// Applies everything this module adds to the generated document.
pub fn apply(document: &mut OpenApi) {
    gateway_responses(document);
    constraints(document);
}

/// Every operation of the document with its method and path.
fn each_operation(document: &mut OpenApi, mut visit: impl FnMut(&str, &str, &mut Operation)) {
    for (path, item) in document.paths.paths.iter_mut() {
        let operations = [
            ("get", &mut item.get),
            ("put", &mut item.put),
            ("post", &mut item.post),
            ("delete", &mut item.delete),
            ("patch", &mut item.patch),
            ("head", &mut item.head),
            ("options", &mut item.options),
            ("trace", &mut item.trace),
        ];
        for (method, operation) in operations {
            if let Some(operation) = operation.as_mut() {
                visit(method, path, operation);
            }
        }
    }
}

/// Declares [`GATEWAY_RESPONSES`] (and [`UNAUTHORIZED`]) once under `components/responses` and references them
/// from every operation that does not describe the status itself.
pub fn gateway_responses(document: &mut OpenApi) {
    let components = document.components.get_or_insert_with(Default::default);
    for (_, name, description) in GATEWAY_RESPONSES.iter().chain([&UNAUTHORIZED]) {
        let problem = ContentBuilder::new().schema(Some(Ref::from_schema_name("Problem"))).build();
        let response = ResponseBuilder::new().description(*description).content("application/problem+json", problem);
        components.responses.insert((*name).to_owned(), RefOr::T(response.build()));
    }
    each_operation(document, |_, _, operation| {
        let gateway_own = operation.tags.as_ref().is_some_and(|tags| tags.iter().any(|tag| tag == "gateway"));
        let unauthorized = (!gateway_own).then_some(&UNAUTHORIZED);
        for (status, name, _) in GATEWAY_RESPONSES.iter().chain(unauthorized) {
            operation
                .responses
                .responses
                .entry((*status).to_owned())
                .or_insert_with(|| RefOr::Ref(Ref::from_response_name(*name)));
        }
    });
}

// ---- the pieces of the patterns ----

/// What Rust's `str::trim` removes: the Unicode `White_Space` characters.
const WHITE_SPACE: &str = r"[\t\n\u000b\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]";
/// Control characters (general category Cc), which `char::is_control` refuses in names.
const CONTROL: &str = r"\u0000-\u001f\u007f-\u009f";
/// White space that is not a control character (what may stand inside a trimmed name).
const SPACE: &str = r" \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000";
/// Characters of an email's local part (RFC 5322 atext), as `users::domain::Email` allows them.
const ATEXT: &str = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]";
/// One DNS label: letters, digits and inner hyphens, at most 63 characters.
const LABEL: &str = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?";

/// A name as `Name::parse`/`FullName::parse` take it: surrounding white space is trimmed, what is left is
/// 1 to `max` characters without control characters.
pub fn trimmed_name(max: usize) -> String {
    format!("^{WHITE_SPACE}*{}$", trimmed_core(max, false))
}

/// A filter as `GET /products?name=` takes it: a trimmed name that may also be empty.
pub fn trimmed_filter(max: usize) -> String {
    format!("^{WHITE_SPACE}*{}$", trimmed_core(max, true))
}

fn trimmed_core(max: usize, optional: bool) -> String {
    let edge = format!("[^{CONTROL}{SPACE}]");
    let inner = format!("[^{CONTROL}]");
    let core = format!("{edge}(?:{inner}{{0,{}}}{edge})?", max - 2);
    if optional {
        format!("(?:{core})?{WHITE_SPACE}*")
    } else {
        format!("{core}{WHITE_SPACE}*")
    }
}

/// An email `users::domain::Email` accepts. The rule itself (at most 254 characters, a local part of at most
/// 64, labels of at most 63, dot-separated atoms) needs look-aheads to state exactly; this is the part of it
/// that fits a plain pattern: local parts of one or two atoms of up to 30 characters, two or three labels.
pub fn email() -> String {
    format!("^{ATEXT}{{1,30}}(?:\\.{ATEXT}{{1,30}})?@(?:{LABEL}\\.){{1,2}}{LABEL}$")
}

/// A SKU as `products::domain::Sku` takes it (trimmed, then 1–64 of `A-Z a-z 0-9 . _ -` starting with a
/// letter or digit; stored upper case).
pub fn sku() -> String {
    format!("^{WHITE_SPACE}*[A-Za-z0-9][A-Za-z0-9._-]{{0,63}}{WHITE_SPACE}*$")
}

/// `GET /products?category=`: a category id or a slug, in any case, trimmed (at most two white space
/// characters on either side here); at most 100 characters as sent (`maxLength`; the listing checks it before
/// trimming); empty
/// means none.
pub fn category_ref() -> String {
    format!("^{WHITE_SPACE}{{0,2}}(?:[A-Za-z0-9]+(?:-[A-Za-z0-9]+)*)?{WHITE_SPACE}{{0,2}}$")
}

/// Any text a Postgres `text` can hold: no NUL (the API refuses it with a 400 or 422 before any query).
pub const TEXT: &str = r"^[^\u0000]*$";
/// A product description as `Description::parse` takes it: no control characters but tab and line breaks.
pub const DESCRIPTION: &str = r"^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]*$";
/// A slug: lower-case letters and digits in words joined by single `-`.
pub const SLUG: &str = "^[a-z0-9]+(?:-[a-z0-9]+)*$";
/// Visible ASCII, as an `Idempotency-Key` must be.
pub const IDEMPOTENCY_KEY: &str = "^[!-~]{1,255}$";
/// Three upper-case letters (the analytics reports' `currency`; they check no list).
pub const CURRENCY_LETTERS: &str = "^[A-Z]{3}$";

/// The ISO 4217 codes the catalog accepts.
pub use catalog::domain::ISO_4217;

/// A change to one schema.
type Change = Box<dyn Fn(&mut Object)>;

fn pattern(pattern: impl Into<String>) -> Change {
    let pattern = pattern.into();
    Box::new(move |schema| schema.pattern = Some(pattern.clone()))
}

/// The length is in the pattern (it bounds the trimmed value, which `minLength`/`maxLength` cannot).
fn trimmed(pattern_text: String) -> Change {
    Box::new(move |schema| {
        schema.pattern = Some(pattern_text.clone());
        schema.min_length = None;
        schema.max_length = None;
    })
}

fn lengths(min: Option<usize>, max: Option<usize>) -> Change {
    Box::new(move |schema| {
        schema.min_length = min;
        schema.max_length = max;
    })
}

fn at_most_i64() -> Change {
    Box::new(|schema| schema.maximum = Some(utoipa::Number::Int(i64::MAX as isize)))
}

/// One of `values`; `null` stays allowed where the schema is nullable.
fn one_of(values: &'static [&'static str]) -> Change {
    Box::new(move |schema| {
        let mut allowed: Vec<Value> = values.iter().map(|value| json!(value)).collect();
        if serde_json::to_value(&schema.schema_type).is_ok_and(|kind| kind.to_string().contains("null")) {
            allowed.push(Value::Null);
        }
        schema.enum_values = Some(allowed);
        schema.pattern = None;
    })
}

fn no_format() -> Change {
    Box::new(|schema| schema.format = None)
}

/// The constraints of request bodies (`components/schemas/<schema>/properties/<property>`) and of
/// parameters (`<method> <path>`, parameter name).
pub fn constraints(document: &mut OpenApi) {
    let bodies: Vec<(&str, &str, Vec<Change>)> = vec![
        ("RegisterRequest", "email", vec![pattern(email()), no_format()]),
        ("RegisterRequest", "password", vec![pattern(TEXT), lengths(Some(8), Some(128))]),
        ("RegisterRequest", "full_name", vec![trimmed(trimmed_name(100))]),
        ("LoginRequest", "email", vec![pattern(TEXT)]),
        ("LoginRequest", "password", vec![pattern(TEXT)]),
        ("RefreshRequest", "refresh_token", vec![pattern(TEXT)]),
        ("CreateUser", "email", vec![pattern(email()), no_format()]),
        ("CreateUser", "full_name", vec![trimmed(trimmed_name(100))]),
        ("CreateUser", "password", vec![pattern(TEXT), lengths(Some(8), Some(128))]),
        ("UpdateUser", "email", vec![pattern(email()), no_format()]),
        ("UpdateUser", "full_name", vec![trimmed(trimmed_name(100))]),
        ("ChangePassword", "current_password", vec![pattern(TEXT)]),
        ("ChangePassword", "new_password", vec![pattern(TEXT), lengths(Some(8), Some(128))]),
        ("ProductBody", "sku", vec![trimmed(sku())]),
        ("ProductBody", "name", vec![trimmed(trimmed_name(200))]),
        ("ProductBody", "description", vec![pattern(DESCRIPTION), lengths(None, Some(5000))]),
        ("ProductReplacement", "sku", vec![trimmed(sku())]),
        ("ProductReplacement", "name", vec![trimmed(trimmed_name(200))]),
        ("ProductReplacement", "description", vec![pattern(DESCRIPTION), lengths(None, Some(5000))]),
        ("Money", "cents", vec![at_most_i64()]),
        ("Money", "currency", vec![one_of(ISO_4217)]),
        ("CategoryBody", "name", vec![trimmed(trimmed_name(100))]),
        ("CategoryBody", "slug", vec![pattern(SLUG), lengths(None, Some(100))]),
    ];
    let schemas = &mut document.components.get_or_insert_with(Default::default).schemas;
    for (schema, property, changes) in bodies {
        let target = match schemas.get_mut(schema) {
            Some(RefOr::T(Schema::Object(object))) => object.properties.get_mut(property),
            _ => None,
        };
        match target {
            Some(RefOr::T(Schema::Object(object))) => changes.iter().for_each(|change| change(object)),
            _ => panic!("no property {schema}.{property} to constrain"),
        }
    }
    // Identical lines are one product twice: 422 (lines of one product with different quantities are too).
    let items = match schemas.get_mut("PlaceOrder") {
        Some(RefOr::T(Schema::Object(order))) => order.properties.get_mut("items"),
        _ => None,
    };
    match items {
        Some(RefOr::T(Schema::Array(items))) => items.unique_items = true,
        _ => panic!("PlaceOrder.items is not an array"),
    }

    let parameters: Vec<(&str, &str, &str, Vec<Change>)> = vec![
        ("get", "/users", "email", vec![pattern(TEXT)]),
        ("get", "/users", "cursor", vec![pattern(TEXT)]),
        ("get", "/products", "name", vec![pattern(trimmed_filter(100))]),
        ("get", "/products", "category", vec![pattern(category_ref()), lengths(None, Some(100))]),
        ("get", "/products", "min_price", vec![at_most_i64()]),
        ("get", "/products", "max_price", vec![at_most_i64()]),
        ("get", "/products", "currency", vec![one_of(ISO_4217)]),
        ("get", "/products", "cursor", vec![pattern(TEXT)]),
        ("get", "/categories", "cursor", vec![pattern(TEXT)]),
        ("get", "/orders", "cursor", vec![pattern(TEXT)]),
        ("get", "/orders", "status", vec![one_of(&["pending", "confirmed", "cancelled"])]),
        ("post", "/orders", "Idempotency-Key", vec![pattern(IDEMPOTENCY_KEY)]),
        ("put", "/products/{id}", "If-Match", vec![pattern(r#"^(\*|"[0-9]+")$"#)]),
        ("get", "/analytics/top-products", "currency", vec![pattern(CURRENCY_LETTERS)]),
        ("get", "/analytics/sales", "currency", vec![pattern(CURRENCY_LETTERS)]),
    ];
    let mut applied = 0;
    each_operation(document, |method, path, operation| {
        for (_, _, name, changes) in parameters.iter().filter(|(m, p, _, _)| *m == method && *p == path) {
            let parameter = operation.parameters.iter_mut().flatten().find(|parameter| parameter.name == *name);
            if let Some(RefOr::T(Schema::Object(object))) = parameter.and_then(|parameter| parameter.schema.as_mut()) {
                changes.iter().for_each(|change| change(object));
                applied += 1;
            }
        }
    });
    assert_eq!(applied, parameters.len(), "a constrained parameter is missing from the document");
}
