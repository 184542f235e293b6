//! `/products`: the public, cached reads and the admin-only writes.

use http::StatusCode;
use kit::http::{parse_json, parse_query};
use kit::identity::Identity;
use kit::page::Page;
use kit::{Fields, Problem, Request, Response};
use serde::{Deserialize, Serialize};

use crate::domain::{parse_id, Currency, Description, Money, Name, Sku, Stock, PRODUCT_NAME_MAX};
use crate::error::Error;
use crate::listing::{Filter, RawListQuery};
use crate::store::{Product, ProductChange, ProductDeletion, ProductWrite};
use crate::Service;
use catalog::cache::{Entry, Lookup};
use catalog::{Audience, CacheStatus};

/// The body of `POST /products` and `PUT /products/{id}` (a replacement of every field but, when it is left
/// out, the stock). Only these fields are accepted: anything else is a 422.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProductBody {
    sku: String,
    name: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    category_id: Option<String>,
    price: PriceBody,
    #[serde(default)]
    stock: Option<i64>,
    #[serde(default = "active_by_default")]
    active: bool,
}

/// `{"cents": 1999, "currency": "EUR"}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PriceBody {
    cents: i64,
    currency: String,
}

fn active_by_default() -> bool {
    true
}

impl ProductBody {
    /// Parses every field into its domain type, reporting all invalid fields at once (422).
    fn validate(self, stock_required: bool) -> Result<ProductWrite, Error> {
        let mut fields = Fields::default();
        let sku = fields.check("sku", Sku::parse(&self.sku));
        let name = fields.check("name", Name::parse(&self.name, PRODUCT_NAME_MAX));
        let description = fields.check("description", Description::parse(&self.description));
        let category_id = match self.category_id.as_deref() {
            None => Some(None),
            Some(text) => {
                fields.check("category_id", parse_id(text).map(Some).ok_or_else(|| "must be a UUID".to_owned()))
            }
        };
        let cents = fields.check(
            "price.cents",
            if self.price.cents < 0 { Err("must not be negative".to_owned()) } else { Ok(self.price.cents) },
        );
        let currency = fields.check("price.currency", Currency::parse(&self.price.currency));
        let stock = match self.stock {
            Some(stock) => fields.check("stock", Stock::parse(stock).map(Some)),
            None if stock_required => fields.check("stock", Err::<Option<Stock>, _>("is required".to_owned())),
            None => Some(None),
        };
        fields.finish()?;
        match (sku, name, description, category_id, cents, currency, stock) {
            (Some(sku), Some(name), Some(description), Some(category_id), Some(cents), Some(currency), Some(stock)) => {
                Ok(ProductWrite {
                    sku,
                    name,
                    description,
                    category_id,
                    price: Money { cents, currency },
                    stock,
                    active: self.active,
                })
            }
            // Not reachable: a missing value always recorded a field error above.
            _ => Err(Error::Internal("a field was neither valid nor reported".to_owned())),
        }
    }
}

/// `GET /products`: the filtered, sorted, paged listing (cached unless inactive products are included).
pub async fn list(service: &Service, request: &Request) -> Result<Response, Error> {
    let filter = Filter::parse(parse_query::<RawListQuery>(request)?).map_err(Problem::bad_query)?;
    let fetch = || async { listing_entry(service, &filter).await };
    if filter.include_inactive {
        Identity::require_admin(request.headers())?;
        return Ok(service.read_response(request, fetch().await?, CacheStatus::Bypass, Audience::Private));
    }
    serve(service, request, &format!("list:{}", filter.cache_hash()), fetch).await
}

/// `GET /products/{id}`: one product; inactive ones only for admins (who always read Postgres). Its `ETag`
/// is the product's revision, the one `If-Match` takes.
pub async fn get(service: &Service, request: &Request, id: &str) -> Result<Response, Error> {
    let id = parse_id(id).ok_or(Error::NotFound)?;
    let admin = Identity::from_headers(request.headers()).is_some_and(|identity| identity.is_admin());
    let fetch = || async move {
        let product = service.store.product(id, admin).await?.ok_or(Error::NotFound)?;
        Ok(Entry { etag: etag(product.revision), body: to_json(&product)?.into() })
    };
    if admin {
        return Ok(service.read_response(request, fetch().await?, CacheStatus::Bypass, Audience::Private));
    }
    serve(service, request, &format!("product:{id}"), fetch).await
}

/// Answers a public read from the cache on a hit; otherwise fetches, and stores the representation after a
/// miss.
async fn serve<F, Fut>(service: &Service, request: &Request, name: &str, fetch: F) -> Result<Response, Error>
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = Result<Entry, Error>>,
{
    let lookup = match crate::cached_reads::forwarded_lookup(&service.cache, request, name) {
        Some(lookup) => lookup,
        None => service.cache.lookup(name, || service.store.version()).await?,
    };
    let (entry, status) = match lookup {
        Lookup::Hit(entry) => (entry, CacheStatus::Hit),
        Lookup::Miss(key) => {
            let entry = fetch().await?;
            service.cache.store(&key, &entry).await;
            (entry, CacheStatus::Miss)
        }
        Lookup::Bypass => (fetch().await?, CacheStatus::Bypass),
    };
    Ok(service.read_response(request, entry, status, Audience::Public))
}

/// A page of the listing, its `ETag` derived from its bytes.
async fn listing_entry(service: &Service, filter: &Filter) -> Result<Entry, Error> {
    let products = service.store.products(filter).await?;
    let body = to_json(&Page::from_rows(products, filter.limit, |last| last.cursor(filter.sort)))?;
    Ok(Entry { etag: kit::http::content_etag(&body), body: body.into() })
}

fn to_json<T: Serialize>(value: &T) -> Result<Vec<u8>, Error> {
    serde_json::to_vec(value).map_err(|error| Error::Internal(format!("response serialisation: {error}")))
}

/// `POST /products` (admin): 201 with the product and its `Location`.
pub async fn create(service: &Service, request: &Request) -> Result<Response, Error> {
    Identity::require_admin(request.headers())?;
    let write = parse_json::<ProductBody>(request)?.validate(true)?;
    let product = service.store.create_product(&write).await?;
    with_etag(kit::http::created(&format!("/products/{}", product.id), &product), &product)
}

/// `PUT /products/{id}` (admin): replaces every writable field. Stock moves under orders' feet, so a body with
/// `stock` needs `If-Match` with the product's current `ETag` (428 without, 412 when stale); without `stock` the
/// units are left as they are. Relative changes go through [`adjust_stock`].
pub async fn update(service: &Service, request: &Request, id: &str) -> Result<Response, Error> {
    Identity::require_admin(request.headers())?;
    let id = parse_id(id).ok_or(Error::NotFound)?;
    let write = parse_json::<ProductBody>(request)?.validate(false)?;
    let if_match = match request.headers().get(http::header::IF_MATCH) {
        None if write.stock.is_some() => return Err(Error::PreconditionRequired),
        None => None,
        Some(value) => Some(parse_if_match(value)?),
    };
    match service.store.update_product(id, &write, if_match.flatten()).await? {
        ProductChange::Changed(product) => with_etag(kit::http::json(StatusCode::OK, &product), &product),
        ProductChange::NotFound => Err(Error::NotFound),
        ProductChange::Refused(revision) => Err(Error::PreconditionFailed(etag(revision))),
    }
}

/// `If-Match`: `Some(revision)` for one strong ETag of ours (`"17"`), `None` for `*` (any current
/// representation). Anything else is not an ETag this API issues: 400, so a client learns its header is
/// malformed rather than that the product changed.
fn parse_if_match(value: &http::HeaderValue) -> Result<Option<i64>, Error> {
    let malformed = || Error::from(kit::Problem::bad_request("If-Match must be * or one ETag of this API (\"<n>\")"));
    let text = value.to_str().map_err(|_| malformed())?.trim();
    if text == "*" {
        return Ok(None);
    }
    text.strip_prefix('"')
        .and_then(|rest| rest.strip_suffix('"'))
        .filter(|digits| !digits.is_empty() && digits.bytes().all(|byte| byte.is_ascii_digit()))
        .and_then(|revision| revision.parse::<i64>().ok())
        .map(Some)
        .ok_or_else(malformed)
}

/// The body of `POST /products/{id}/stock-adjustments`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StockAdjustment {
    /// Units to add (negative: to remove), relative to the current stock.
    delta: i64,
}

/// Largest `|delta|` of one adjustment.
const MAX_ADJUSTMENT: i64 = 1_000_000;

/// `POST /products/{id}/stock-adjustments` (admin): adds or removes units relative to the current stock, so
/// it composes with concurrent orders; 409 if the stock would go below zero.
pub async fn adjust_stock(service: &Service, request: &Request, id: &str) -> Result<Response, Error> {
    Identity::require_admin(request.headers())?;
    let id = parse_id(id).ok_or(Error::NotFound)?;
    let body: StockAdjustment = parse_json(request)?;
    let delta = match i32::try_from(body.delta) {
        Ok(delta) if delta != 0 && i64::from(delta).abs() <= MAX_ADJUSTMENT => delta,
        _ => {
            return Err(Error::Validation(vec![kit::FieldError::new(
                "delta",
                format!("must be a non-zero number of units from -{MAX_ADJUSTMENT} to {MAX_ADJUSTMENT}"),
            )]))
        }
    };
    match service.store.adjust_stock(id, delta).await? {
        ProductChange::Changed(product) => with_etag(kit::http::json(StatusCode::OK, &product), &product),
        ProductChange::NotFound => Err(Error::NotFound),
        ProductChange::Refused(_) => {
            Err(Error::Conflict { detail: "the stock would go below zero", field: Some("delta") })
        }
    }
}

/// `DELETE /products/{id}` (admin): 204; 409 once orders have the product (deactivate it instead).
pub async fn delete(service: &Service, request: &Request, id: &str) -> Result<Response, Error> {
    Identity::require_admin(request.headers())?;
    let id = parse_id(id).ok_or(Error::NotFound)?;
    match service.store.delete_product(id).await? {
        ProductDeletion::Deleted => Ok(kit::http::empty(StatusCode::NO_CONTENT)),
        ProductDeletion::NotFound => Err(Error::NotFound),
        ProductDeletion::Ordered => Err(Error::Conflict {
            detail: "the product has been ordered and cannot be deleted; deactivate it instead (active: false)",
            field: None,
        }),
    }
}

/// The strong `ETag` of a product at `revision`.
fn etag(revision: i64) -> String {
    format!("\"{revision}\"")
}

/// Adds the product's `ETag` to a response about it.
fn with_etag(mut response: Response, product: &Product) -> Result<Response, Error> {
    let value = http::HeaderValue::from_str(&etag(product.revision))
        .map_err(|error| Error::Internal(format!("etag header: {error}")))?;
    response.headers_mut().insert(http::header::ETAG, value);
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn if_match_takes_our_strong_etags_and_star_and_refuses_anything_else_as_malformed() {
        let header = |text: &'static str| http::HeaderValue::from_static(text);
        assert_eq!(parse_if_match(&header("\"42\"")).unwrap(), Some(42));
        assert_eq!(parse_if_match(&header(" * ")).unwrap(), None);
        for malformed in ["W/\"42\"", "42", "\"x\"", "\"1\", \"2\"", "", "\"-1\"", "\"+1\""] {
            assert!(matches!(parse_if_match(&header(malformed)), Err(Error::Request(_))), "{malformed}");
        }
    }

    #[test]
    fn stock_is_required_to_create_only() {
        let json = serde_json::json!({ "sku": "tea-1", "name": "Tea", "price": {"cents": 1, "currency": "EUR"} });
        let product: ProductBody = serde_json::from_value(json.clone()).unwrap();
        let Err(Error::Request(problem)) = product.validate(true) else { panic!("stock is required to create") };
        assert_eq!(problem.errors[0].field, "stock");
        let product: ProductBody = serde_json::from_value(json).unwrap();
        assert_eq!(product.validate(false).unwrap().stock, None);
    }

    fn body(json: serde_json::Value) -> Result<ProductWrite, Error> {
        serde_json::from_value::<ProductBody>(json).map_err(|e| Problem::bad_request(e.to_string()))?.validate(true)
    }

    #[test]
    fn every_invalid_field_is_reported_at_once() {
        let result = body(serde_json::json!({
            "sku": "", "name": "", "category_id": "nope", "price": {"cents": -1, "currency": "EURO"}, "stock": -3
        }));
        let Err(Error::Request(problem)) = result else { panic!("expected a validation error") };
        let fields: Vec<&str> = problem.errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["sku", "name", "category_id", "price.cents", "price.currency", "stock"]);
    }

    #[test]
    fn a_valid_body_is_normalised() {
        let write = body(serde_json::json!({
            "sku": "tea-1", "name": " Green tea ", "price": {"cents": 450, "currency": "eur"}, "stock": 3
        }))
        .unwrap();
        assert_eq!(write.stock.map(Stock::get), Some(3));
        assert_eq!(write.sku.as_str(), "TEA-1");
        assert_eq!(write.name.as_str(), "Green tea");
        assert_eq!(write.price.currency.as_str(), "EUR");
        assert!(write.active);
        assert_eq!(write.category_id, None);
    }
}
