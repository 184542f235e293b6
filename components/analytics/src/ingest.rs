//! `POST /analytics/events`: stores one order event (a CloudEvents 1.0 JSON envelope, as published to
//! Kafka). Only a service may call it — the bridge's consumer, with a token signed by its service key.
//!
//! Answers 201 when the event was stored, 200 when it was stored before (a redelivery: nothing changes),
//! 422 when the event is malformed or of an unknown type (the consumer dead-letters it at once), 503 when
//! the store is down (the consumer retries).

use http::StatusCode;
use kit::http::{json, parse_json};
use kit::identity::Identity;
use kit::{FieldError, Problem, Request, Response};
use serde::Deserialize;
use serde_json::json as json_value;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::error::Error;
use crate::store::{self, Line};

/// `type` of the order-created event.
pub const ORDER_CREATED: &str = "com.pycommerce.order.created.v1";
/// `type` of the order-cancelled event.
pub const ORDER_CANCELLED: &str = "com.pycommerce.order.cancelled.v1";
const MAX_LINES: usize = 100;
const MAX_QUANTITY: i32 = 1000;

/// The envelope; `data` is read according to `type`. Unknown envelope members are ignored (CloudEvents
/// extensions).
#[derive(Debug, Deserialize)]
struct Envelope {
    specversion: String,
    id: Uuid,
    #[serde(rename = "type")]
    kind: String,
    data: serde_json::Value,
}

#[derive(Debug, Deserialize)]
struct EventLine {
    product_id: Uuid,
    quantity: i32,
    unit_price_cents: i64,
}

#[derive(Debug, Deserialize)]
struct Created {
    order_id: Uuid,
    items: Vec<EventLine>,
    currency: String,
    created_at: String,
}

#[derive(Debug, Deserialize)]
struct Cancelled {
    order_id: Uuid,
    cancelled_at: String,
}

/// Handles the ingest route.
pub async fn ingest(db: &kit::db::Db, request: &Request) -> Result<Response, Error> {
    Identity::require_service(request.headers())?;
    let envelope: Envelope = parse_json(request)?;
    if envelope.specversion != "1.0" {
        return Err(invalid("specversion", "must be \"1.0\"").into());
    }
    let event_id = envelope.id.hyphenated().to_string();
    let stored = match envelope.kind.as_str() {
        ORDER_CREATED => {
            let data: Created = data(envelope.data)?;
            let created_at = instant(&data.created_at, "data.created_at")?;
            if !(1..=MAX_LINES).contains(&data.items.len()) {
                return Err(invalid("data.items", "must have 1 to 100 lines").into());
            }
            if data.items.iter().any(|line| !(1..=MAX_QUANTITY).contains(&line.quantity)) {
                return Err(invalid("data.items", "quantities must be 1 to 1000").into());
            }
            if data.items.iter().any(|line| line.unit_price_cents < 0) {
                return Err(invalid("data.items", "prices must not be negative").into());
            }
            // Revenue is stored as bigint: an amount that does not fit is the event's fault, not the store's.
            let revenue = data.items.iter().try_fold(0i64, |total, line| {
                line.unit_price_cents.checked_mul(i64::from(line.quantity)).and_then(|cents| total.checked_add(cents))
            });
            if revenue.is_none() {
                return Err(invalid("data.items", "amounts are out of range").into());
            }
            if data.currency.len() != 3 || !data.currency.bytes().all(|byte| byte.is_ascii_uppercase()) {
                return Err(invalid("data.currency", "must be an ISO 4217 code").into());
            }
            let lines: Vec<Line> = data
                .items
                .iter()
                .map(|line| Line {
                    product_id: line.product_id.hyphenated().to_string(),
                    quantity: line.quantity,
                    unit_price_cents: line.unit_price_cents,
                })
                .collect();
            let order_id = data.order_id.hyphenated().to_string();
            store::store_created(db, &event_id, &order_id, &created_at, &data.currency, &lines).await?
        }
        ORDER_CANCELLED => {
            let data: Cancelled = data(envelope.data)?;
            let cancelled_at = instant(&data.cancelled_at, "data.cancelled_at")?;
            store::store_cancelled(db, &event_id, &data.order_id.hyphenated().to_string(), &cancelled_at).await?
        }
        _ => return Err(invalid("type", "is not an event this service stores").into()),
    };
    tracing::info!(event_id, kind = %envelope.kind, stored, "order event ingested");
    let status = if stored { StatusCode::CREATED } else { StatusCode::OK };
    Ok(json(status, &json_value!({ "event_id": event_id, "stored": stored })))
}

fn invalid(field: &str, message: &str) -> Problem {
    Problem::validation(vec![FieldError::new(field, message)])
}

/// `data` as `T`, or 422 naming the member that is wrong.
fn data<T: serde::de::DeserializeOwned>(value: serde_json::Value) -> Result<T, Problem> {
    serde_path_to_error::deserialize(value).map_err(|error| {
        let path = error.path().to_string();
        invalid(&format!("data.{path}"), &error.into_inner().to_string())
    })
}

/// An RFC 3339 instant, normalised to UTC text Postgres reads unambiguously.
fn instant(value: &str, field: &str) -> Result<String, Problem> {
    let parsed = OffsetDateTime::parse(value, &Rfc3339).map_err(|_| invalid(field, "must be an RFC 3339 instant"))?;
    parsed.to_offset(time::UtcOffset::UTC).format(&Rfc3339).map_err(|_| invalid(field, "must be an RFC 3339 instant"))
}
