//! The `/orders` routes.
//!
//! Placing an order, in this order: validate the body; count the placement against the user's rate limit (one
//! Redis round trip, [`crate::limits`]); answer a repeated Idempotency-Key from its first order; in one bridge
//! call, check that the user is active and reserve the stock within the user's units cap (the bridge returns
//! each line's name and price — the only prices used; the reservation is *held* until the write); write
//! order, items, outbox event and key and commit the reservation in one statement, which also answers the
//! order as written (no read after the write); release the held reservation if that write fails (if even
//! that fails, the bridge's sweeper releases it when the hold expires). The relay learns of the event from
//! the outbox's NOTIFY trigger, so placing an order needs no bridge call after the reservation. A customer
//! sees and cancels only their own orders (others are 404); an admin sees all.

use http::StatusCode;
use kit::bridge::{Bridge, BridgeError, ReservedLine, StockLine};
use kit::db::Db;
use kit::http::{json, parse_json, parse_query};
use kit::identity::Identity;
use kit::page::{Cursor, Limit, Page};
use kit::{FieldError, Problem, Request, Response};
use serde::Deserialize;
use uuid::Uuid;

use crate::domain::{idempotency_key, keyed_order_id, NewOrder, OrderRequest};
use crate::error::Error;
use crate::events;
use crate::limits::OrderLimits;
use crate::store::{self, Item, ListFilter, Order, Status};

/// `POST /orders`.
pub async fn place(db: &Db, bridge: &Bridge, limits: &OrderLimits, request: &Request) -> Result<Response, Error> {
    let identity = Identity::require(request.headers())?;
    let user_id = Uuid::parse_str(&identity.user_id).map_err(|_| Error::UserInactive)?;
    let body: NewOrder = parse_json(request)?;
    let order_request = OrderRequest::parse(body)?;
    let key = idempotency_key(request.headers().get("idempotency-key"))?;
    let hash = order_request.hash();
    // Counted before anything costs a query or a bridge call.
    limits.admit(user_id, &order_request.lines).await?;
    // A replay answers its first order even when that order took the user to the units cap.
    if let Some(key) = &key {
        if let Some(order) = replay(db, user_id, key, &hash).await? {
            return Ok(kit::http::created(&format!("/orders/{}", order.id), &order));
        }
    }
    let order_id = match &key {
        Some(key) => keyed_order_id(&identity.user_id, key),
        None => Uuid::now_v7(),
    };
    let lines: Vec<StockLine> = order_request
        .lines
        .iter()
        .map(|(product, quantity)| StockLine { product_id: product.to_string(), quantity: *quantity })
        .collect();
    // The one bridge call of an order: the user must be active and within the units cap, and the stock is
    // held for this order id.
    let cap = Some(limits.units_cap());
    let reservation = match bridge.reserve_stock(&order_id.to_string(), Some(&identity.user_id), &lines, cap).await {
        Ok(reservation) => reservation,
        Err(BridgeError::Forbidden(_)) => return Err(Error::UserInactive),
        Err(error) => return Err(error.into()),
    };
    if let Some(over) = reservation.units_cap_exceeded {
        return Err(limits.refused(user_id, over));
    }

    let written = write(db, order_id, user_id, &reservation.lines, key.clone().map(|key| (key, hash.clone()))).await;
    let order = match written {
        Ok(store::Inserted::Written(order)) => order,
        Ok(outcome @ (store::Inserted::AlreadyWritten | store::Inserted::ReservationLost)) => {
            // A concurrent request with the same key wrote this order first (perhaps a moment before this one
            // looked): answer as a replay would, which also refuses another body under the same key.
            if let Some(key) = &key {
                if let Some(order) = replay(db, user_id, key, &hash).await? {
                    return Ok(kit::http::created(&format!("/orders/{}", order.id), &order));
                }
            }
            let found = store::find(db, order_id).await?;
            match found {
                None if outcome == store::Inserted::ReservationLost => {
                    tracing::warn!(%order_id, "stock reservation expired before the order was written");
                    return Err(Error::ReservationLost);
                }
                None => return Err(Error::NotFound),
                // A v5 id collision across users is impossible; refuse rather than leak another user's order.
                Some(order) if order.user_id != identity.user_id => return Err(Error::NotFound),
                Some(order) => order,
            }
        }
        Err(error) => {
            // Never leave stock held for an order that does not exist (the sweeper would, after the hold).
            if let Err(release) = bridge.release_stock(&order_id.to_string()).await {
                tracing::error!(%order_id, %release, "reservation of a failed order could not be released");
            }
            return Err(error);
        }
    };
    tracing::info!(%order_id, user_id = %identity.user_id, total_cents = order.total_cents, "order placed");
    Ok(kit::http::created(&format!("/orders/{}", order.id), &order))
}

/// The order a repeated Idempotency-Key created, if the request is the same; 422 if it is not.
async fn replay(db: &Db, user_id: Uuid, key: &str, hash: &[u8]) -> Result<Option<Order>, Error> {
    let Some(stored) = store::find_idempotency_key(db, user_id, key).await? else {
        return Ok(None);
    };
    let hash: String = hash.iter().map(|byte| format!("{byte:02x}")).collect();
    if stored.request_hash != hash {
        return Err(Error::IdempotencyMismatch);
    }
    store::find(db, stored.order_id).await.map_err(Error::from)
}

/// Writes the order and commits its reservation.
async fn write(
    db: &Db,
    order_id: Uuid,
    user_id: Uuid,
    lines: &[ReservedLine],
    idempotency: Option<(String, Vec<u8>)>,
) -> Result<store::Inserted, Error> {
    let currency = lines.first().map(|line| line.currency.clone()).unwrap_or_default();
    if lines.iter().any(|line| line.currency != currency) {
        return Err(Problem::validation(vec![FieldError::new(
            "items",
            "all products of an order must share a currency",
        )])
        .into());
    }
    let total_cents = lines
        .iter()
        .try_fold(0i64, |total, line| total.checked_add(line.unit_price_cents.checked_mul(i64::from(line.quantity))?))
        .ok_or_else(|| Problem::validation(vec![FieldError::new("items", "the order total is too large")]))?;
    let items = lines
        .iter()
        .map(|line| Item {
            product_id: line.product_id.clone(),
            name: line.name.clone(),
            unit_price_cents: line.unit_price_cents,
            quantity: line.quantity,
        })
        .collect();
    let event_id = Uuid::now_v7();
    let event = events::order_created(
        &event_id.to_string(),
        &order_id.to_string(),
        &user_id.to_string(),
        lines,
        total_cents,
        &currency,
    );
    let order = store::NewOrder {
        id: order_id,
        user_id,
        total_cents,
        currency: &currency,
        items,
        event_id,
        event,
        idempotency,
    };
    Ok(store::insert(db, &order).await?)
}

/// `GET /orders/{id}`.
pub async fn get(db: &Db, request: &Request, raw_id: &str) -> Result<Response, Error> {
    let identity = Identity::require(request.headers())?;
    let order = visible(db, &identity, raw_id).await?;
    Ok(json(StatusCode::OK, &order))
}

/// `POST /orders/{id}/cancel`: marks the order cancelled with its `order.cancelled` event and gives its units
/// back, in one statement (no bridge call). Cancelling twice answers the order.
pub async fn cancel(db: &Db, request: &Request, raw_id: &str) -> Result<Response, Error> {
    let identity = Identity::require(request.headers())?;
    let order = visible(db, &identity, raw_id).await?;
    if order.status == Status::Cancelled {
        return Ok(json(StatusCode::OK, &order));
    }
    let lines: Vec<ReservedLine> = order
        .items
        .iter()
        .map(|item| ReservedLine {
            product_id: item.product_id.clone(),
            quantity: item.quantity,
            name: item.name.clone(),
            unit_price_cents: item.unit_price_cents,
            currency: order.currency.clone(),
        })
        .collect();
    let event_id = Uuid::now_v7();
    let event = events::order_cancelled(&event_id.to_string(), &order.id, &order.user_id, &lines);
    let id = Uuid::parse_str(&order.id).map_err(|_| Error::NotFound)?;
    if store::cancel(db, id, event_id, event).await? {
        tracing::info!(order_id = %order.id, by = %identity.user_id, "order cancelled");
    }
    let order = store::find(db, id).await?.ok_or(Error::NotFound)?;
    Ok(json(StatusCode::OK, &order))
}

/// The order `raw_id` if the caller may see it; 404 otherwise.
async fn visible(db: &Db, identity: &Identity, raw_id: &str) -> Result<Order, Error> {
    let id = Uuid::parse_str(raw_id).map_err(|_| Error::NotFound)?;
    let order = store::find(db, id).await?.ok_or(Error::NotFound)?;
    if identity.is_admin() || order.user_id == identity.user_id {
        Ok(order)
    } else {
        Err(Error::NotFound)
    }
}

/// `GET /orders` query.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    user_id: Option<String>,
    status: Option<String>,
    limit: Option<i64>,
    cursor: Option<String>,
}

/// `GET /orders`: a customer's own orders; an admin's view of all, filterable by user and status. Newest
/// first, cursor paging.
pub async fn list(db: &Db, request: &Request) -> Result<Response, Error> {
    let identity = Identity::require(request.headers())?;
    let query: ListQuery = parse_query(request)?;
    let limit = Limit::parse(query.limit).map_err(Problem::bad_query)?;
    let user_id = if identity.is_admin() {
        query
            .user_id
            .as_deref()
            .map(Uuid::parse_str)
            .transpose()
            .map_err(|_| Problem::bad_request("user_id must be a UUID"))?
    } else {
        if query.user_id.is_some() {
            return Err(Problem::forbidden("only an admin may list other users' orders").into());
        }
        Some(Uuid::parse_str(&identity.user_id).map_err(|_| Error::NotFound)?)
    };
    if let Some(status) = &query.status {
        if !["pending", "confirmed", "cancelled"].contains(&status.as_str()) {
            return Err(Problem::bad_request("status must be pending, confirmed or cancelled").into());
        }
    }
    // The key is the last order's creation instant (µs) and id: newest first, ties by id.
    let before: Option<(i64, Uuid)> = Cursor::decode_opt(query.cursor.as_deref()).map_err(Problem::bad_query)?;
    let filter = ListFilter { user_id, status: query.status, before, limit: limit.fetch() };
    let orders = store::list(db, &filter).await?;
    Ok(json(StatusCode::OK, &Page::from_rows(orders, limit, |last| (last.created_us, last.id.clone()))))
}
