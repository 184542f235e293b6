//! Storing order events (CloudEvents 1.0 JSON envelopes, as published to Kafka). Only a service may call
//! these routes — the bridge's consumer, with a token signed by its service key.
//!
//! - `POST /analytics/events`, one event: 201 when stored, 200 when stored before (a redelivery: nothing
//!   changes), 422 when malformed or of an unknown type (the consumer dead-letters it at once), 503 when
//!   the store is down (the consumer retries).
//! - `POST /analytics/events/batch`, `{"events": [...]}`: what the consumer sends, so that the events of one
//!   poll cost one request and at most two statements, not a request and a commit each.

use std::collections::HashSet;

use http::StatusCode;
use kit::http::{json, parse_json};
use kit::identity::Identity;
use kit::{FieldError, Problem, Request, Response};
use serde::{Deserialize, Serialize};
use serde_json::json as json_value;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::error::Error;
use crate::store::{self, CancelledEvent, CreatedEvent, Line};

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

/// Most events one batch may carry.
pub const MAX_BATCH: usize = 100;

/// An event that passed validation.
#[derive(Debug)]
enum Event {
    Created(CreatedEvent),
    Cancelled(CancelledEvent),
}

impl Event {
    fn id(&self) -> &str {
        match self {
            Event::Created(event) => &event.event_id,
            Event::Cancelled(event) => &event.event_id,
        }
    }
}

/// Handles `POST /analytics/events`: one event.
pub async fn ingest(db: &kit::db::Db, request: &Request) -> Result<Response, Error> {
    Identity::require_service(request.headers())?;
    let event = validate(parse_json(request)?).map_err(|error| Problem::validation(vec![error]))?;
    let stored = !store(db, std::slice::from_ref(&event)).await?.is_empty();
    tracing::info!(event_id = event.id(), stored, "order event ingested");
    let status = if stored { StatusCode::CREATED } else { StatusCode::OK };
    Ok(json(status, &json_value!({ "event_id": event.id(), "stored": stored })))
}

/// The body of `POST /analytics/events/batch`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Batch {
    events: Vec<serde_json::Value>,
}

/// What became of one event of a batch.
#[derive(Debug, Serialize)]
struct BatchResult {
    /// The event's id; `None` when the envelope has no well-formed one.
    event_id: Option<String>,
    /// `stored`, `duplicate` (stored before, or earlier in the same batch) or `refused`.
    outcome: &'static str,
    /// Why it was refused: `<field>: <message>`.
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

/// Handles `POST /analytics/events/batch`: up to [`MAX_BATCH`] events in one request, stored by two
/// statements at most. Each event is validated on its own: a malformed one is refused in its result, the
/// others are stored. Answers 200 with one result per event, in order; 503 (nothing stored) when the store
/// is down.
pub async fn ingest_batch(db: &kit::db::Db, request: &Request) -> Result<Response, Error> {
    Identity::require_service(request.headers())?;
    let batch: Batch = parse_json(request)?;
    if !(1..=MAX_BATCH).contains(&batch.events.len()) {
        return Err(invalid("events", "must have 1 to 100 events").into());
    }
    let mut results = Vec::with_capacity(batch.events.len());
    let mut events: Vec<Event> = Vec::with_capacity(batch.events.len());
    for value in batch.events {
        // Named in a refusal too, when the envelope carries a well-formed id.
        let id = value.get("id").and_then(serde_json::Value::as_str).and_then(|id| Uuid::parse_str(id).ok());
        match validate(value) {
            Ok(event) => {
                let repeated = events.iter().any(|earlier| earlier.id() == event.id());
                results.push(BatchResult { event_id: Some(event.id().to_owned()), outcome: "duplicate", error: None });
                if !repeated {
                    events.push(event);
                }
            }
            Err(error) => results.push(BatchResult {
                event_id: id.map(|id| id.hyphenated().to_string()),
                outcome: "refused",
                error: Some(format!("{}: {}", error.field, error.message)),
            }),
        }
    }
    let stored = store(db, &events).await?;
    // The first result of each id stored now says so; a repetition in the batch stays a duplicate.
    let mut remaining: HashSet<&str> = stored.iter().map(String::as_str).collect();
    for result in &mut results {
        if result.event_id.as_deref().is_some_and(|id| remaining.remove(id)) {
            result.outcome = "stored";
        }
    }
    let refused = results.iter().filter(|result| result.outcome == "refused").count();
    tracing::info!(events = results.len(), stored = stored.len(), refused, "order event batch ingested");
    Ok(json(StatusCode::OK, &json_value!({ "results": results })))
}

/// Stores validated events (ids not repeated): one statement per kind present. Returns the ids stored now.
async fn store(db: &kit::db::Db, events: &[Event]) -> Result<Vec<String>, Error> {
    let (mut created, mut cancelled) = (Vec::new(), Vec::new());
    for event in events {
        match event {
            Event::Created(event) => created.push(event.clone()),
            Event::Cancelled(event) => cancelled.push(event.clone()),
        }
    }
    let mut stored = store::store_created(db, &created).await?;
    stored.extend(store::store_cancelled(db, &cancelled).await?);
    Ok(stored)
}

/// The event in `value`, or the first field that is wrong.
fn validate(value: serde_json::Value) -> Result<Event, FieldError> {
    let envelope: Envelope = deserialize(value, "")?;
    if envelope.specversion != "1.0" {
        return Err(FieldError::new("specversion", "must be \"1.0\""));
    }
    let event_id = envelope.id.hyphenated().to_string();
    match envelope.kind.as_str() {
        ORDER_CREATED => {
            let data: Created = deserialize(envelope.data, "data.")?;
            let created_at = instant(&data.created_at, "data.created_at")?;
            if !(1..=MAX_LINES).contains(&data.items.len()) {
                return Err(FieldError::new("data.items", "must have 1 to 100 lines"));
            }
            if data.items.iter().any(|line| !(1..=MAX_QUANTITY).contains(&line.quantity)) {
                return Err(FieldError::new("data.items", "quantities must be 1 to 1000"));
            }
            if data.items.iter().any(|line| line.unit_price_cents < 0) {
                return Err(FieldError::new("data.items", "prices must not be negative"));
            }
            // Revenue is stored as bigint: an amount that does not fit is the event's fault, not the store's.
            let revenue = data.items.iter().try_fold(0i64, |total, line| {
                line.unit_price_cents.checked_mul(i64::from(line.quantity)).and_then(|cents| total.checked_add(cents))
            });
            if revenue.is_none() {
                return Err(FieldError::new("data.items", "amounts are out of range"));
            }
            if data.currency.len() != 3 || !data.currency.bytes().all(|byte| byte.is_ascii_uppercase()) {
                return Err(FieldError::new("data.currency", "must be an ISO 4217 code"));
            }
            let lines = data
                .items
                .iter()
                .map(|line| Line {
                    product_id: line.product_id.hyphenated().to_string(),
                    quantity: line.quantity,
                    unit_price_cents: line.unit_price_cents,
                })
                .collect();
            Ok(Event::Created(CreatedEvent {
                event_id,
                order_id: data.order_id.hyphenated().to_string(),
                created_at,
                currency: data.currency,
                lines,
            }))
        }
        ORDER_CANCELLED => {
            let data: Cancelled = deserialize(envelope.data, "data.")?;
            let cancelled_at = instant(&data.cancelled_at, "data.cancelled_at")?;
            Ok(Event::Cancelled(CancelledEvent {
                event_id,
                order_id: data.order_id.hyphenated().to_string(),
                cancelled_at,
            }))
        }
        _ => Err(FieldError::new("type", "is not an event this service stores")),
    }
}

fn invalid(field: &str, message: &str) -> Problem {
    Problem::validation(vec![FieldError::new(field, message)])
}

/// `value` as `T`, or the member that is wrong, named with `prefix` (the path of `value` in the envelope).
fn deserialize<T: serde::de::DeserializeOwned>(value: serde_json::Value, prefix: &str) -> Result<T, FieldError> {
    serde_path_to_error::deserialize(value).map_err(|error| {
        let path = error.path().to_string();
        FieldError::new(format!("{prefix}{path}"), error.into_inner().to_string())
    })
}

/// An RFC 3339 instant, normalised to UTC text Postgres reads unambiguously.
fn instant(value: &str, field: &str) -> Result<String, FieldError> {
    let parsed =
        OffsetDateTime::parse(value, &Rfc3339).map_err(|_| FieldError::new(field, "must be an RFC 3339 instant"))?;
    // Postgres has no year 0, and an offset can carry an instant out of years 1 to 9999.
    let utc = parsed
        .checked_to_offset(time::UtcOffset::UTC)
        .filter(|utc| utc.year() >= 1)
        .ok_or_else(|| FieldError::new(field, "must be between years 1 and 9999 in UTC"))?;
    utc.format(&Rfc3339).map_err(|_| FieldError::new(field, "must be an RFC 3339 instant"))
}
