//! `/products`: the public, cached reads and the admin-only writes.

use http::StatusCode;
use kit::http::{parse_json, parse_query};
use kit::identity::Identity;
use kit::{Request, Response};
use serde::{Deserialize, Serialize};

use crate::cache::Lookup;
use crate::domain::{parse_id, Currency, Description, Fields, Money, Name, Sku, Stock, PRODUCT_NAME_MAX};
use crate::error::Error;
use crate::listing::{Filter, RawListQuery};
use crate::store::{Product, ProductWrite};
use crate::{cached_json, created, CacheStatus, Service};

/// The body of `POST /products` and `PUT /products/{id}` (a full replacement). Only these fields are
/// accepted: anything else is a 422.
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
    stock: i64,
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
    fn validate(self) -> Result<ProductWrite, Error> {
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
        let stock = fields.check("stock", Stock::parse(self.stock));
        fields.finish().map_err(Error::Validation)?;
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

/// A page of products.
#[derive(Debug, Serialize)]
struct Page<'a> {
    items: &'a [Product],
    next_cursor: Option<String>,
}

/// `GET /products`: the filtered, sorted, paged listing (cached unless inactive products are included).
pub async fn list(service: &Service, request: &Request) -> Result<Response, Error> {
    let filter = Filter::parse(parse_query::<RawListQuery>(request)?)?;
    if filter.include_inactive {
        Identity::require_admin(request.headers())?;
        let body = page_body(service, &filter).await?;
        return Ok(cached_json(body, CacheStatus::Bypass));
    }
    let lookup = if service.cache.enabled() {
        let version = service.store.version().await?;
        service.cache.lookup(service.cache.key(version, &format!("list:{}", filter.cache_hash()))).await
    } else {
        Lookup::Bypass
    };
    serve(service, lookup, || page_body(service, &filter)).await
}

/// `GET /products/{id}`: one product; inactive ones only for admins (who always read Postgres).
pub async fn get(service: &Service, request: &Request, id: &str) -> Result<Response, Error> {
    let id = parse_id(id).ok_or(Error::NotFound)?;
    let admin = Identity::from_headers(request.headers()).is_some_and(|identity| identity.is_admin());
    let fetch = || async move {
        let product = service.store.product(id, admin).await?.ok_or(Error::NotFound)?;
        to_json(&product)
    };
    if admin || !service.cache.enabled() {
        return Ok(cached_json(fetch().await?, CacheStatus::Bypass));
    }
    let version = service.store.version().await?;
    let lookup = service.cache.lookup(service.cache.key(version, &format!("product:{id}"))).await;
    serve(service, lookup, fetch).await
}

/// Answers from the cache on a hit; otherwise fetches, and stores the body after a miss.
async fn serve<F, Fut>(service: &Service, lookup: Lookup, fetch: F) -> Result<Response, Error>
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = Result<Vec<u8>, Error>>,
{
    match lookup {
        Lookup::Hit(body) => Ok(cached_json(body.to_vec(), CacheStatus::Hit)),
        Lookup::Miss(key) => {
            let body = fetch().await?;
            service.cache.store(&key, &body).await;
            Ok(cached_json(body, CacheStatus::Miss))
        }
        Lookup::Bypass => Ok(cached_json(fetch().await?, CacheStatus::Bypass)),
    }
}

async fn page_body(service: &Service, filter: &Filter) -> Result<Vec<u8>, Error> {
    let (items, next) = service.store.products(filter).await?;
    to_json(&Page { items: &items, next_cursor: next.map(|cursor| cursor.encode()) })
}

fn to_json<T: Serialize>(value: &T) -> Result<Vec<u8>, Error> {
    serde_json::to_vec(value).map_err(|error| Error::Internal(format!("response serialisation: {error}")))
}

/// `POST /products` (admin): 201 with the product and its `Location`.
pub async fn create(service: &Service, request: &Request) -> Result<Response, Error> {
    Identity::require_admin(request.headers())?;
    let write = parse_json::<ProductBody>(request)?.validate()?;
    let product = service.store.create_product(&write).await?;
    Ok(created(&format!("/products/{}", product.id), &product))
}

/// `PUT /products/{id}` (admin): replaces every writable field.
pub async fn update(service: &Service, request: &Request, id: &str) -> Result<Response, Error> {
    Identity::require_admin(request.headers())?;
    let id = parse_id(id).ok_or(Error::NotFound)?;
    let write = parse_json::<ProductBody>(request)?.validate()?;
    let product = service.store.update_product(id, &write).await?.ok_or(Error::NotFound)?;
    Ok(kit::http::json(StatusCode::OK, &product))
}

/// `DELETE /products/{id}` (admin): 204.
pub async fn delete(service: &Service, request: &Request, id: &str) -> Result<Response, Error> {
    Identity::require_admin(request.headers())?;
    let id = parse_id(id).ok_or(Error::NotFound)?;
    if service.store.delete_product(id).await? {
        Ok(kit::http::empty(StatusCode::NO_CONTENT))
    } else {
        Err(Error::NotFound)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(json: serde_json::Value) -> Result<ProductWrite, Error> {
        serde_json::from_value::<ProductBody>(json).map_err(|e| Error::bad_query("body", e.to_string()))?.validate()
    }

    #[test]
    fn every_invalid_field_is_reported_at_once() {
        let result = body(serde_json::json!({
            "sku": "", "name": "", "category_id": "nope", "price": {"cents": -1, "currency": "EURO"}, "stock": -3
        }));
        let Err(Error::Validation(errors)) = result else { panic!("expected a validation error") };
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["sku", "name", "category_id", "price.cents", "price.currency", "stock"]);
    }

    #[test]
    fn a_valid_body_is_normalised() {
        let write = body(serde_json::json!({
            "sku": "tea-1", "name": " Green tea ", "price": {"cents": 450, "currency": "eur"}, "stock": 3
        }))
        .unwrap();
        assert_eq!(write.sku.as_str(), "TEA-1");
        assert_eq!(write.name.as_str(), "Green tea");
        assert_eq!(write.price.currency.as_str(), "EUR");
        assert!(write.active);
        assert_eq!(write.category_id, None);
    }
}
