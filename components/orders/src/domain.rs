//! A new order as the client sends it, validated at the edge, and the Idempotency-Key.
//!
//! Bounds: 1–100 lines, quantity 1–1000, each product at most once — a repeated product is refused (422),
//! not merged, so a client bug never silently orders more. Prices and totals are never taken from the client:
//! the body has only `product_id` and `quantity`, and any other field is rejected.

use kit::FieldError;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// Most lines per order.
pub const MAX_LINES: usize = 100;
/// Most units per line.
pub const MAX_QUANTITY: i64 = 1000;

/// `POST /orders` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewOrder {
    items: Vec<NewLine>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NewLine {
    product_id: String,
    quantity: i64,
}

/// A validated order request: lines sorted by product id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderRequest {
    /// `(product, quantity)` pairs.
    pub lines: Vec<(Uuid, i32)>,
}

impl OrderRequest {
    /// Validates `order`, reporting every bad field.
    pub fn parse(order: NewOrder) -> Result<Self, kit::Problem> {
        let mut errors = kit::Fields::default();
        if order.items.is_empty() || order.items.len() > MAX_LINES {
            errors.push(FieldError::new("items", format!("must have 1 to {MAX_LINES} lines")));
        }
        let mut lines: Vec<(Uuid, i32)> = Vec::with_capacity(order.items.len());
        for (index, line) in order.items.iter().enumerate().take(MAX_LINES) {
            let product = Uuid::parse_str(&line.product_id);
            if product.is_err() {
                errors.push(FieldError::new(format!("items[{index}].product_id"), "must be a product id (UUID)"));
            }
            if !(1..=MAX_QUANTITY).contains(&line.quantity) {
                errors
                    .push(FieldError::new(format!("items[{index}].quantity"), format!("must be 1 to {MAX_QUANTITY}")));
            }
            if let (Ok(product), Ok(quantity)) = (product, i32::try_from(line.quantity)) {
                if lines.iter().any(|(seen, _)| *seen == product) {
                    errors.push(FieldError::new(
                        format!("items[{index}].product_id"),
                        "appears on another line; order each product once",
                    ));
                }
                lines.push((product, quantity));
            }
        }
        errors.finish()?;
        lines.sort();
        Ok(Self { lines })
    }

    /// A hash of the request, the same for the same lines in any order.
    pub fn hash(&self) -> Vec<u8> {
        let mut digest = Sha256::new();
        for (product, quantity) in &self.lines {
            digest.update(format!("{product}:{quantity};"));
        }
        digest.finalize().to_vec()
    }
}

/// An `Idempotency-Key` header value: 1–255 visible ASCII characters.
pub fn idempotency_key(raw: Option<&http::HeaderValue>) -> Result<Option<String>, kit::Problem> {
    let Some(raw) = raw else {
        return Ok(None);
    };
    let valid = !raw.is_empty() && raw.len() <= 255 && raw.as_bytes().iter().all(|b| (0x21..=0x7e).contains(b));
    if !valid {
        return Err(kit::Problem::bad_request("Idempotency-Key must be 1 to 255 visible ASCII characters"));
    }
    Ok(raw.to_str().ok().map(str::to_owned))
}

/// The order id of a keyed request: derived from the user and the key, so concurrent retries with the same
/// key reserve stock under one order id (the bridge reserves once per order id) and insert one order.
pub fn keyed_order_id(user_id: &str, key: &str) -> Uuid {
    Uuid::new_v5(&Uuid::NAMESPACE_OID, format!("pycommerce:order:{user_id}:{key}").as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(body: serde_json::Value) -> Result<OrderRequest, kit::Problem> {
        OrderRequest::parse(serde_json::from_value(body).map_err(|e| kit::Problem::bad_request(e.to_string()))?)
    }

    #[test]
    fn lines_are_bounded_and_unique() {
        let a = Uuid::new_v4().to_string();
        let b = Uuid::new_v4().to_string();
        let ok = parse(
            serde_json::json!({ "items": [{ "product_id": a, "quantity": 2 }, { "product_id": b, "quantity": 1 }] }),
        );
        assert_eq!(ok.unwrap().lines.len(), 2);
        for body in [
            serde_json::json!({ "items": [] }),
            serde_json::json!({ "items": [{ "product_id": a, "quantity": 0 }] }),
            serde_json::json!({ "items": [{ "product_id": a, "quantity": 1001 }] }),
            serde_json::json!({ "items": [{ "product_id": "x", "quantity": 1 }] }),
            serde_json::json!({ "items": [{ "product_id": a, "quantity": 1 }, { "product_id": a, "quantity": 2 }] }),
        ] {
            assert_eq!(parse(body.clone()).unwrap_err().status, 422, "{body}");
        }
        let many: Vec<_> =
            (0..101).map(|_| serde_json::json!({ "product_id": Uuid::new_v4().to_string(), "quantity": 1 })).collect();
        assert_eq!(parse(serde_json::json!({ "items": many })).unwrap_err().status, 422);
    }

    #[test]
    fn the_hash_ignores_line_order() {
        let a = Uuid::new_v4().to_string();
        let b = Uuid::new_v4().to_string();
        let one = parse(
            serde_json::json!({ "items": [{ "product_id": a, "quantity": 2 }, { "product_id": b, "quantity": 1 }] }),
        )
        .unwrap();
        let two = parse(
            serde_json::json!({ "items": [{ "product_id": b, "quantity": 1 }, { "product_id": a, "quantity": 2 }] }),
        )
        .unwrap();
        let other = parse(
            serde_json::json!({ "items": [{ "product_id": a, "quantity": 3 }, { "product_id": b, "quantity": 1 }] }),
        )
        .unwrap();
        assert_eq!(one.hash(), two.hash());
        assert_ne!(one.hash(), other.hash());
    }

    #[test]
    fn idempotency_keys_are_visible_ascii() {
        assert_eq!(
            idempotency_key(Some(&http::HeaderValue::from_static("abc-123"))).unwrap().as_deref(),
            Some("abc-123")
        );
        assert!(idempotency_key(Some(&http::HeaderValue::from_static("has space"))).is_err());
        assert!(idempotency_key(Some(&http::HeaderValue::from_static(""))).is_err());
        assert_eq!(idempotency_key(None).unwrap(), None);
        assert_eq!(keyed_order_id("u", "k"), keyed_order_id("u", "k"));
        assert_ne!(keyed_order_id("u", "k"), keyed_order_id("v", "k"));
    }
}
